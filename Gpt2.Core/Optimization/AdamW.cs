using Gpt2.Backends;
using Gpt2.Model;

namespace Gpt2.Optimization;

/// <summary>
/// AdamW as llm.c implements it: bias-corrected moments and decoupled weight decay,
/// param -= lr · (m̂ / (sqrt(v̂) + ε) + wd · param), with optional clipping by the global gradient norm.
/// </summary>
/// <remarks>
/// <para>
/// For a bf16 model the optimizer keeps fp32 master weights (llm.c's default, <c>-w 1</c>): each step updates them in
/// fp32 and writes the bf16 parameters from them with stochastic rounding, seeded by the step and the tensor, so a
/// resumed run rounds exactly as an uninterrupted one. With <see cref="AdamWOptions.MasterWeights"/> off (<c>-w 0</c>)
/// it updates the bf16 parameters through an fp32 scratch of the largest tensor, rounding the same way.
/// </para>
/// <para>Not thread-safe. It owns its moment and master-weight buffers (Dispose frees them), not the model.</para>
/// </remarks>
public sealed class AdamW : IDisposable
{
    private readonly Gpt2Model _model;
    private readonly DeviceBuffer _m;
    private readonly DeviceBuffer _v;
    private readonly DeviceBuffer _norm;
    private readonly DeviceBuffer? _master;
    private readonly DeviceBuffer? _scratch;
    private readonly ParameterRange _all;
    private readonly ParameterRange[] _tensors;
    private int _stepCount;

    /// <summary>Creates the optimizer and its zeroed moments on the model's backend.</summary>
    /// <param name="model">The model to update.</param>
    /// <param name="options">Hyperparameters.</param>
    public AdamW(Gpt2Model model, AdamWOptions options)
        : this(model, options, 0, model?.Layout.Count ?? 0)
    {
    }

    /// <summary>
    /// Creates an optimizer for one contiguous range of the parameters (a shard, as in ZeRO stage 1: each process
    /// keeps the moments of its own range and updates only those parameters).
    /// </summary>
    /// <param name="model">The model to update.</param>
    /// <param name="options">Hyperparameters.</param>
    /// <param name="shardOffset">First parameter of the range, in the flat parameter layout.</param>
    /// <param name="shardLength">Parameters in the range.</param>
    public AdamW(Gpt2Model model, AdamWOptions options, long shardOffset, long shardLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxGradientNorm is <= 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxGradientNorm, "The gradient clipping norm must be positive.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(shardOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(shardLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardOffset + shardLength, model.Layout.Count, nameof(shardLength));
        _model = model;
        Options = options;
        ShardOffset = shardOffset;
        ShardLength = shardLength;
        // the moments are fp32 whatever the parameters' type, as in llm.c
        _m = model.Backend.Allocate(ElementType.Float32, [checked((int)shardLength)]);
        _v = model.Backend.Allocate(ElementType.Float32, [checked((int)shardLength)]);
        _norm = model.Backend.Allocate(ElementType.Float32, [1]);
        if (model.Layout.ElementType != ElementType.Float32 && options.MasterWeights)
        {
            _master = model.Backend.Allocate(ElementType.Float32, [checked((int)shardLength)]);
            model.Backend.Convert(model.Parameters.All.View(shardOffset, [checked((int)shardLength)]), _master.Tensor);
        }
        else if (model.Layout.ElementType != ElementType.Float32)
        {
            // -w 0: one fp32 scratch of the largest tensor, through which each range is updated in turn
            long largest = model.Layout.Tensors.Max(t => t.Length);
            _scratch = model.Backend.Allocate(ElementType.Float32, [checked((int)Math.Min(largest, Math.Max(shardLength, 1)))]);
        }

        // the views of the shard, whole and tensor by tensor (for weight decay on matrices only), made once
        _all = Views(shardOffset, shardLength, isMatrix: false);
        var tensors = new List<ParameterRange>();
        foreach (var tensor in model.Layout.Tensors)
        {
            long start = Math.Max(shardOffset, tensor.Offset), end = Math.Min(shardOffset + shardLength, tensor.Offset + tensor.Length);
            if (start < end)
            {
                tensors.Add(Views(start, end - start, tensor.IsMatrix));
            }
        }

        _tensors = [.. tensors];
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

    /// <summary>First parameter this optimizer updates (0 unless sharded).</summary>
    public long ShardOffset { get; }

    /// <summary>Parameters this optimizer updates (all unless sharded).</summary>
    public long ShardLength { get; }

    /// <summary>First moments m of the parameters [<see cref="ShardOffset"/>, + <see cref="ShardLength"/>), in parameter layout.</summary>
    public DeviceTensor FirstMoment => _m.Tensor;

    /// <summary>Second moments v of the same range, in parameter layout.</summary>
    public DeviceTensor SecondMoment => _v.Tensor;

    /// <summary>
    /// The fp32 master weights of the same range for a bf16 model (taken from its parameters when the optimizer is
    /// made; upload a checkpoint's into it to resume), or null for an fp32 model, whose parameters are their own.
    /// </summary>
    public DeviceTensor? MasterWeights => _master?.Tensor;

    /// <summary>Computes the L2 norm of the gradients of this optimizer's parameters (all of them unless sharded).</summary>
    /// <returns>The norm.</returns>
    public float GradientNorm() => MathF.Sqrt(SumOfSquaredGradients());

    /// <summary>The sum of the squared gradients of this optimizer's parameters; shards add theirs for the global norm.</summary>
    /// <returns>The sum.</returns>
    public float SumOfSquaredGradients()
    {
        var be = _model.Backend;
        be.SumOfSquares(_all.Gradients, _norm.Tensor);
        Span<float> sum = stackalloc float[1];
        be.Download(_norm.Tensor, sum);
        return sum[0];
    }

    /// <summary>Updates every parameter of this optimizer from its gradient.</summary>
    /// <param name="learningRate">The learning rate of this step.</param>
    /// <returns>The global gradient norm before clipping, or NaN when clipping is off (it is then not computed).</returns>
    public float Step(float learningRate) => Step(learningRate, null);

    /// <summary>Updates every parameter of this optimizer from its gradient, clipping by a norm computed elsewhere.</summary>
    /// <param name="learningRate">The learning rate of this step.</param>
    /// <param name="gradientNorm">
    /// The global gradient norm (for a shard: over all shards); null to compute it from this optimizer's gradients.
    /// </param>
    /// <returns>The global gradient norm before clipping, or NaN when clipping is off.</returns>
    public float Step(float learningRate, float? gradientNorm)
    {
        var o = Options;
        float norm = float.NaN, scale = 1f;
        if (o.MaxGradientNorm is float max)
        {
            norm = gradientNorm ?? GradientNorm();
            scale = norm > max ? max / norm : 1f;
        }

        _stepCount++;
        var be = _model.Backend;
        var step = new AdamWStep(learningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay, StepCount, scale);
        if (o.WeightDecayMode == WeightDecayMode.AllParameters || o.WeightDecay == 0f)
        {
            Update(be, _all, step, 0);
            return norm;
        }

        for (int i = 0; i < _tensors.Length; i++)
        {
            var t = _tensors[i];
            Update(be, t, step with { WeightDecay = t.IsMatrix ? o.WeightDecay : 0f }, i);
        }

        return norm;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _m.Dispose();
        _v.Dispose();
        _norm.Dispose();
        _master?.Dispose();
        _scratch?.Dispose();
    }

    /// <summary>One range's update: in place, or on the master weights and then rounded stochastically into the bf16 parameters.</summary>
    private void Update(ComputeBackend be, ParameterRange r, AdamWStep step, int range)
    {
        // a rounding stream per (step, range): the same rounding on any backend, and again after a resume
        uint seed = Formats.BFloat16.RoundingNoise((uint)range, (uint)StepCount * 0x9E3779B9u);
        if (r.Master is { } master)
        {
            be.AdamWUpdate(r.Gradients, master, r.FirstMoment, r.SecondMoment, step);
            be.Convert(master, r.Parameters, seed);
        }
        else if (_scratch is not null)
        {
            // -w 0: through scratch, a piece as long as the scratch at a time (the whole range unless it is a shard of all tensors)
            long length = r.Parameters.Length, piece = _scratch.Tensor.Length;
            for (long at = 0; at < length; at += piece)
            {
                TensorShape shape = [checked((int)Math.Min(piece, length - at))];
                var wide = _scratch.Tensor.View(0, shape);
                var parameters = r.Parameters.View(at, shape);
                be.Convert(parameters, wide);
                be.AdamWUpdate(r.Gradients.View(at, shape), wide, r.FirstMoment.View(at, shape), r.SecondMoment.View(at, shape), step);
                be.Convert(wide, parameters, Formats.BFloat16.RoundingNoise((uint)at, seed));
            }
        }
        else
        {
            be.AdamWUpdate(r.Gradients, r.Parameters, r.FirstMoment, r.SecondMoment, step);
        }
    }

    /// <summary>The gradients, parameters and moments of parameters [offset, offset + length).</summary>
    private ParameterRange Views(long offset, long length, bool isMatrix)
    {
        TensorShape shape = [checked((int)length)];
        long moment = offset - ShardOffset;
        return new ParameterRange(_model.Gradients.All.View(offset, shape), _model.Parameters.All.View(offset, shape),
            _m.Tensor.View(moment, shape), _v.Tensor.View(moment, shape), _master?.Tensor.View(moment, shape), isMatrix);
    }

    private readonly record struct ParameterRange(DeviceTensor Gradients, DeviceTensor Parameters, DeviceTensor FirstMoment, DeviceTensor SecondMoment,
        DeviceTensor? Master, bool IsMatrix);
}
