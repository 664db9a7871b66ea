using Gpt2.Backends;
using Gpt2.Model;

namespace Gpt2.Optimization;

/// <summary>
/// AdamW as llm.c implements it: bias-corrected moments and decoupled weight decay,
/// param -= lr · (m̂ / (sqrt(v̂) + ε) + wd · param), with optional clipping by the global gradient norm.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Gpt2Model _model;
    private readonly DeviceBuffer<float> _m;
    private readonly DeviceBuffer<float> _v;
    private readonly DeviceBuffer<float> _norm;
    private int _stepCount;

    /// <summary>Creates the optimizer and its zeroed moments on the model's backend.</summary>
    /// <param name="model">The model to update.</param>
    /// <param name="options">Hyperparameters.</param>
    public AdamW(Gpt2Model model, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxGradientNorm is <= 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxGradientNorm, "The gradient clipping norm must be positive.");
        }

        _model = model;
        Options = options;
        _m = model.Backend.Allocate<float>(model.Layout.Count);
        _v = model.Backend.Allocate<float>(model.Layout.Count);
        _norm = model.Backend.Allocate<float>(1);
    }

    /// <summary>The hyperparameters.</summary>
    public AdamWOptions Options { get; }

    /// <summary>Number of updates done so far (t of the last update); set it when restoring a checkpoint.</summary>
    public int StepCount
    {
        get => _stepCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _stepCount = value;
        }
    }

    /// <summary>First moments m, in parameter layout.</summary>
    public DeviceBuffer<float> FirstMoment => _m;

    /// <summary>Second moments v, in parameter layout.</summary>
    public DeviceBuffer<float> SecondMoment => _v;

    /// <summary>Computes the global L2 norm of the model's gradients.</summary>
    /// <returns>The norm.</returns>
    public float GradientNorm()
    {
        var be = _model.Backend;
        be.SumOfSquares(_model.Gradients.All, _norm.View);
        Span<float> sum = stackalloc float[1];
        be.Download(_norm.View, sum);
        return MathF.Sqrt(sum[0]);
    }

    /// <summary>Updates every parameter from its gradient.</summary>
    /// <param name="learningRate">The learning rate of this step.</param>
    /// <returns>The global gradient norm before clipping, or NaN when clipping is off (it is then not computed).</returns>
    public float Step(float learningRate)
    {
        var o = Options;
        float norm = float.NaN, scale = 1f;
        if (o.MaxGradientNorm is float max)
        {
            norm = GradientNorm();
            scale = norm > max ? max / norm : 1f;
        }

        _stepCount++;
        var be = _model.Backend;
        var step = new AdamWStep(learningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay, StepCount, scale);
        if (o.WeightDecayMode == WeightDecayMode.AllParameters || o.WeightDecay == 0f)
        {
            be.AdamWUpdate(_model.Gradients.All, _model.Parameters.All, _m.View, _v.View, step);
            return norm;
        }

        foreach (var tensor in _model.Layout.Tensors)
        {
            var tensorStep = step with { WeightDecay = tensor.IsMatrix ? o.WeightDecay : 0f };
            be.AdamWUpdate(_model.Gradients.Of(tensor), _model.Parameters.Of(tensor),
                _m.Slice(tensor.Offset, tensor.Length), _v.Slice(tensor.Offset, tensor.Length), tensorStep);
        }

        return norm;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _m.Dispose();
        _v.Dispose();
        _norm.Dispose();
    }
}
