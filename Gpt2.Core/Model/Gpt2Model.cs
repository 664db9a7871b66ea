using Gpt2.Backends;
using Gpt2.Formats;

namespace Gpt2.Model;

/// <summary>
/// A GPT-2 model on a compute backend: parameters in llm.c's layout, their gradients, and the activations of
/// the last forward pass. Forward, backward and the layer walk are in Gpt2Model.Passes.cs.
/// </summary>
public sealed partial class Gpt2Model : IDisposable
{
    private readonly DeviceBuffer<float> _parameters;
    private readonly DeviceBuffer<float> _gradients;
    private DeviceBuffer<int>? _tokens;
    private DeviceBuffer<int>? _targets;
    private Activations? _acts;
    private Activations? _gradActs;
    private bool _disposed;

    /// <summary>Creates a model with all parameters zero on a backend.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="backend">The backend that will own its memory and run it; not disposed by the model.</param>
    public Gpt2Model(Gpt2Config config, IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(backend);
        Config = config;
        Backend = backend;
        Layout = new ParameterLayout(config);
        _parameters = backend.Allocate<float>(Layout.Count);
        _gradients = backend.Allocate<float>(Layout.Count);
        Parameters = new ParameterViews(Layout, _parameters);
        Gradients = new ParameterViews(Layout, _gradients);
    }

    /// <summary>The model's shape.</summary>
    public Gpt2Config Config { get; }

    /// <summary>The backend that owns the model's memory.</summary>
    public IComputeBackend Backend { get; }

    /// <summary>The parameter layout.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>Views of the parameters.</summary>
    public ParameterViews Parameters { get; }

    /// <summary>Views of the parameter gradients, filled by <see cref="Backward"/>.</summary>
    public ParameterViews Gradients { get; }

    /// <summary>Mean loss of the last forward pass with targets, or NaN.</summary>
    public float LastLoss { get; private set; } = float.NaN;

    /// <summary>B of the last forward pass (0 before the first).</summary>
    public int BatchSize => _acts?.BatchSize ?? 0;

    /// <summary>T of the last forward pass (0 before the first).</summary>
    public int SequenceLength => _acts?.SequenceLength ?? 0;

    /// <summary>Creates a model with GPT-2's random initialisation, drawn as llm.c draws it (same generator, order and scales).</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="backend">The backend.</param>
    /// <param name="seed">Generator seed; llm.c uses 42.</param>
    /// <returns>The model.</returns>
    public static Gpt2Model CreateRandom(Gpt2Config config, IComputeBackend backend, uint seed = 42)
    {
        var model = new Gpt2Model(config, backend);
        var host = new float[model.Layout.Count];
        ParameterInitializer.Initialize(model.Layout, seed, host);
        model.SetParameters(host);
        return model;
    }

    /// <summary>Loads an llm.c model file (version 3 fp32 or version 5 bf16).</summary>
    /// <param name="path">The file.</param>
    /// <param name="backend">The backend.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">The file is not a valid model file.</exception>
    public static Gpt2Model Load(string path, IComputeBackend backend)
    {
        var (config, _) = ModelFile.ReadHeader(path);
        var model = new Gpt2Model(config, backend);
        try
        {
            ModelFile.Read(path, (offset, chunk) => backend.Upload(chunk, model._parameters.Slice(offset, chunk.Length)));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Saves the parameters as an llm.c model file, atomically.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">fp32 (version 3) or bf16 (version 5).</param>
    public void Save(string path, ModelFileFormat format = ModelFileFormat.Float32) =>
        ModelFile.Write(path, Config, format, (offset, chunk) => Backend.Download(_parameters.Slice(offset, chunk.Length), chunk));

    /// <summary>Copies all parameters from the host.</summary>
    /// <param name="source">Parameters in layout order.</param>
    public void SetParameters(ReadOnlySpan<float> source)
    {
        CheckLength(source.Length, nameof(source));
        Backend.Upload(source, _parameters.View);
    }

    /// <summary>Copies all parameters to the host.</summary>
    /// <param name="destination">Parameters in layout order.</param>
    public void GetParameters(Span<float> destination)
    {
        CheckLength(destination.Length, nameof(destination));
        Backend.Download(_parameters.View, destination);
    }

    /// <summary>Copies all parameter gradients to the host.</summary>
    /// <param name="destination">Gradients in layout order.</param>
    public void GetGradients(Span<float> destination)
    {
        CheckLength(destination.Length, nameof(destination));
        Backend.Download(_gradients.View, destination);
    }

    /// <summary>Copies the logits of the last forward pass to the host.</summary>
    /// <param name="destination">(B,T,Vp); columns from V on are padding.</param>
    public void GetLogits(Span<float> destination)
    {
        var acts = _acts ?? throw new InvalidOperationException("Run Forward before reading logits.");
        if (destination.Length != acts.Logits.Length)
        {
            throw new ArgumentException($"Expected {acts.Logits.Length} elements (B*T*Vp).", nameof(destination));
        }

        Backend.Download(acts.Logits.View, destination);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _acts?.Dispose();
        _gradActs?.Dispose();
        _parameters.Dispose();
        _gradients.Dispose();
        _tokens?.Dispose();
        _targets?.Dispose();
    }

    private void CheckLength(int length, string name)
    {
        if (length != Layout.Count)
        {
            throw new ArgumentException($"Expected {Layout.Count} elements, got {length}.", name);
        }
    }
}
