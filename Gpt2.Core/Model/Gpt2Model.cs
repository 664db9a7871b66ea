using Gpt2.Backends;
using Gpt2.Formats;

namespace Gpt2.Model;

/// <summary>
/// A GPT-2 model on a compute backend: parameters in llm.c's layout, their gradients, and the activations of
/// the last forward pass. Forward and backward are in Gpt2Model.Passes.cs, the block they walk in TransformerBlock.cs.
/// </summary>
/// <remarks>Not thread-safe: passes share the model's activations, so one thread at a time runs them. The model owns its parameter, gradient and activation buffers (Dispose frees them), not its backend, which must outlive it.</remarks>
public sealed partial class Gpt2Model : IDisposable
{
    private readonly DeviceBuffer _parameters;
    private readonly DeviceBuffer _gradients;
    private Activations? _acts;
    private ActivationGradients? _grads;
    private bool _disposed;
    private AttentionKind _attention;

    /// <summary>Creates a model with all parameters zero on a backend.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="backend">The backend that will own its memory and run it; not disposed by the model.</param>
    /// <param name="precision">
    /// The element type of parameters, gradients and activations: fp32, or bf16 for mixed precision (LayerNorm
    /// statistics, losses and the optimizer's moments and master weights stay fp32).
    /// </param>
    /// <exception cref="NotSupportedException">The backend does not implement <paramref name="precision"/>.</exception>
    public Gpt2Model(Gpt2Config config, ComputeBackend backend, ElementType precision = ElementType.Float32)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(backend);
        if (!precision.IsFloatingPoint())
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "A model's precision is fp32 or bf16.");
        }

        Config = config;
        Backend = backend;
        Layout = new ParameterLayout(config, precision);
        _parameters = backend.Allocate(Layout.ElementType, [checked((int)Layout.Count)]);
        _gradients = backend.Allocate(Layout.ElementType, [checked((int)Layout.Count)]);
        Parameters = new ParameterViews(Layout, _parameters);
        Gradients = new ParameterViews(Layout, _gradients);
    }

    /// <summary>The model's shape.</summary>
    public Gpt2Config Config { get; }

    /// <summary>The backend that owns the model's memory.</summary>
    public ComputeBackend Backend { get; }

    /// <summary>The parameter layout.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>Views of the parameters.</summary>
    public ParameterViews Parameters { get; }

    /// <summary>Views of the parameter gradients, filled by <see cref="Backward"/>.</summary>
    public ParameterViews Gradients { get; }

    /// <summary>Mean loss of the last forward pass with targets, or NaN.</summary>
    public float LastLoss { get; private set; } = float.NaN;

    /// <summary>
    /// How the blocks compute attention; <see cref="AttentionKind.Standard"/> by default. Changing it frees the
    /// activations (the next forward allocates them for the new kind), so set it before a forward and its backward.
    /// </summary>
    /// <exception cref="NotSupportedException">The backend does not run that kind (<see cref="ComputeBackend.Supports(AttentionKind)"/>).</exception>
    public AttentionKind Attention
    {
        get => _attention;
        set
        {
            if (!Backend.Supports(value))
            {
                throw new NotSupportedException($"The {Backend.Name} backend does not run {value.ToString().ToLowerInvariant()} attention.");
            }

            if (value != _attention)
            {
                _attention = value;
                _hasLogits = false;
                _hasTargets = false;
                _acts?.Dispose();
                _grads?.Dispose();
                _acts = null;
                _grads = null;
            }
        }
    }

    /// <summary>B of the last forward pass (0 before the first).</summary>
    public int BatchSize => _acts?.BatchSize ?? 0;

    /// <summary>T of the last forward pass (0 before the first).</summary>
    public int SequenceLength => _acts?.SequenceLength ?? 0;

    /// <summary>Creates a model with GPT-2's random initialisation, drawn as llm.c draws it (same generator, order and scales).</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="backend">The backend.</param>
    /// <param name="seed">Generator seed; llm.c uses 42.</param>
    /// <returns>The model.</returns>
    public static Gpt2Model CreateRandom(Gpt2Config config, ComputeBackend backend, uint seed = 42) =>
        CreateRandom(config, backend, seed, ElementType.Float32);

    /// <summary>Creates a model initialized as llm.c's random init, in a precision (bf16 parameters are the fp32 draw rounded to nearest even).</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="backend">The backend.</param>
    /// <param name="seed">Generator seed; llm.c uses 42.</param>
    /// <param name="precision">fp32 or bf16.</param>
    /// <returns>The model.</returns>
    public static Gpt2Model CreateRandom(Gpt2Config config, ComputeBackend backend, uint seed, ElementType precision)
    {
        var model = new Gpt2Model(config, backend, precision);
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
    public static Gpt2Model Load(string path, ComputeBackend backend) => Load(path, backend, ElementType.Float32);

    /// <summary>Loads an llm.c model file into a model of a precision: a version 5 (bf16) file into bf16 exactly, fp32 values rounded to nearest even.</summary>
    /// <param name="path">The file.</param>
    /// <param name="backend">The backend.</param>
    /// <param name="precision">fp32 or bf16.</param>
    /// <returns>The model.</returns>
    public static Gpt2Model Load(string path, ComputeBackend backend, ElementType precision)
    {
        var (config, _) = ModelFile.ReadHeader(path);
        return Load(config, backend, precision, path, sink => ModelFile.Read(path, sink));
    }

    /// <summary>Loads a model in llm.c's format (version 3 fp32 or version 5 bf16) from a stream, from its position.</summary>
    /// <param name="stream">The stream, left open; when it can seek, the bytes from its position to its end must be exactly one model.</param>
    /// <param name="backend">The backend.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FileFormatException">The stream does not hold a valid model.</exception>
    public static Gpt2Model Load(Stream stream, ComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string name = FileHeader.NameOf(stream);
        var (config, format) = ModelFile.ReadHeader(stream, name);
        return Load(config, backend, ElementType.Float32, name, sink => ModelFile.ReadParameters(stream, name, format, new ParameterLayout(config).Count, sink));
    }

    private static Gpt2Model Load(Gpt2Config config, ComputeBackend backend, ElementType precision, string name, Action<Action<long, ReadOnlySpan<float>>> read)
    {
        var model = new Gpt2Model(config, backend, precision);
        try
        {
            read((offset, chunk) => Upload(model, name, offset, chunk));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static void Upload(Gpt2Model model, string name, long offset, ReadOnlySpan<float> chunk)
    {
        if (model.Layout.FindNonFinite(chunk, offset) is { } bad)
        {
            throw new FileFormatException(name, $"parameter {bad}; a model with NaN or infinite parameters is refused");
        }

        model.Backend.UploadSingles(chunk, model.Parameters.All.View(offset, [chunk.Length]));
    }

    /// <summary>Saves the parameters as an llm.c model file, atomically.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">fp32 (version 3) or bf16 (version 5).</param>
    public void Save(string path, ModelFileFormat format = ModelFileFormat.Float32) =>
        ModelFile.Write(path, Config, format, (offset, chunk) => Backend.DownloadSingles(Parameters.All.View(offset, [chunk.Length]), chunk));

    /// <summary>Writes the parameters in llm.c's model format to a stream, at its position; the caller owns the stream.</summary>
    /// <param name="stream">The stream, left open.</param>
    /// <param name="format">fp32 (version 3) or bf16 (version 5).</param>
    public void Save(Stream stream, ModelFileFormat format = ModelFileFormat.Float32) =>
        ModelFile.Write(stream, Config, format, (offset, chunk) => Backend.DownloadSingles(Parameters.All.View(offset, [chunk.Length]), chunk));

    /// <summary>
    /// Saves a checkpoint's model file (fp32) and returns its SHA-256, or refuses, writing nothing, when a parameter is
    /// not finite; <paramref name="nonFinite"/> then names it.
    /// </summary>
    internal string? SaveChecked(string path, out string? nonFinite)
    {
        string? bad = null;
        try
        {
            nonFinite = null;
            return ModelFile.WriteHashed(path, Config, Layout.ElementType == ElementType.BFloat16 ? ModelFileFormat.BFloat16 : ModelFileFormat.Float32, (offset, chunk) =>
            {
                Backend.DownloadSingles(Parameters.All.View(offset, [chunk.Length]), chunk);
                bad = Layout.FindNonFinite(chunk, offset);
                if (bad is not null)
                {
                    throw new NonFiniteException();
                }
            });
        }
        catch (NonFiniteException)
        {
            nonFinite = bad;
            return null;
        }
    }

    /// <summary>Copies all parameters from the host.</summary>
    /// <param name="source">Parameters in layout order.</param>
    public void SetParameters(ReadOnlySpan<float> source)
    {
        CheckLength(source.Length, nameof(source));
        Backend.UploadSingles(source, Parameters.All);
    }

    /// <summary>Copies all parameters to the host.</summary>
    /// <param name="destination">Parameters in layout order.</param>
    public void GetParameters(Span<float> destination)
    {
        CheckLength(destination.Length, nameof(destination));
        Backend.DownloadSingles(Parameters.All, destination);
    }

    /// <summary>Copies all parameter gradients to the host.</summary>
    /// <param name="destination">Gradients in layout order.</param>
    public void GetGradients(Span<float> destination)
    {
        CheckLength(destination.Length, nameof(destination));
        Backend.DownloadSingles(Gradients.All, destination);
    }

    /// <summary>Copies the logits of the last forward pass to the host; <see cref="Backward"/> overwrites them with their gradient, as llm.c does.</summary>
    /// <param name="destination">(B,T,Vp); columns from V on are padding.</param>
    /// <exception cref="InvalidOperationException">No forward pass ran, or a backward pass has overwritten its logits.</exception>
    public void GetLogits(Span<float> destination)
    {
        var acts = _acts ?? throw new InvalidOperationException("Run Forward before reading logits.");
        if (!_hasLogits)
        {
            throw new InvalidOperationException("Backward has overwritten the logits with their gradient; read them before Backward.");
        }

        if (destination.Length != acts.Logits.Length)
        {
            throw new ArgumentException($"Expected {acts.Logits.Length} elements (B*T*Vp).", nameof(destination));
        }

        Backend.DownloadSingles(acts.Logits, destination);
    }

    /// <summary>
    /// The memory of the activations a forward pass keeps and of the activation gradients a backward pass uses, for a
    /// batch shape, without allocating them.
    /// </summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="attention">The attention kind, which decides what each block keeps.</param>
    /// <param name="precision">The model's precision (fp32 or bf16); statistics and losses are fp32 in both.</param>
    /// <returns>The bytes of each.</returns>
    public static ActivationMemory MeasureActivations(Gpt2Config config, int batchSize, int sequenceLength, AttentionKind attention = AttentionKind.Standard,
        ElementType precision = ElementType.Float32)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        using var acts = new Activations(null, config, batchSize, sequenceLength, precision, attention);
        using var grads = new ActivationGradients(null, config, batchSize, sequenceLength, precision);
        return new ActivationMemory(acts.Bytes, grads.Bytes);
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
        _grads?.Dispose();
        _parameters.Dispose();
        _gradients.Dispose();
    }

    private void CheckLength(int length, string name)
    {
        if (length != Layout.Count)
        {
            throw new ArgumentException($"Expected {Layout.Count} elements, got {length}.", name);
        }
    }

    /// <summary>Aborts a checkpoint write from inside the writer's callback.</summary>
    private sealed class NonFiniteException : Exception;
}
