using Gpt2.IO;
using Gpt2.Model;

namespace Gpt2.Formats;

/// <summary>
/// llm.c's debug state (test_gpt2): one batch and the reference results of a forward and backward pass.
/// Header magic 20240327, version 2, B, T; then int32 inputs (B*T), int32 targets (B*T),
/// float32 logits (B*T*V, real vocabulary columns only), the float32 mean loss, and float32 gradients of every
/// parameter in <see cref="ParameterLayout"/> order (wte as Vp x C).
/// </summary>
/// <remarks>Not thread-safe: its arrays are mutable.</remarks>
public sealed class DebugState
{
    /// <summary>The header magic number.</summary>
    public const int Magic = 20240327;

    /// <summary>The only supported version.</summary>
    public const int Version = 2;

    /// <summary>Creates a state, checking that every array has its shape.</summary>
    /// <param name="config">The model the state belongs to.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="inputs">(B,T) token ids.</param>
    /// <param name="targets">(B,T) next-token ids.</param>
    /// <param name="logits">(B,T,V).</param>
    /// <param name="loss">Mean loss.</param>
    /// <param name="gradients">All parameter gradients.</param>
    public DebugState(Gpt2Config config, int batchSize, int sequenceLength, int[] inputs, int[] targets, float[] logits, float loss, float[] gradients)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        long bt = (long)batchSize * sequenceLength;
        Check(inputs, bt, nameof(inputs));
        Check(targets, bt, nameof(targets));
        Check(logits, bt * config.VocabularySize, nameof(logits));
        Check(gradients, new ParameterLayout(config).Count, nameof(gradients));
        Config = config;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        Inputs = inputs;
        Targets = targets;
        Logits = logits;
        Loss = loss;
        Gradients = gradients;
    }

    /// <summary>The model the state belongs to.</summary>
    public Gpt2Config Config { get; }

    /// <summary>B.</summary>
    public int BatchSize { get; }

    /// <summary>T.</summary>
    public int SequenceLength { get; }

    /// <summary>(B,T) token ids.</summary>
    public int[] Inputs { get; }

    /// <summary>(B,T) next-token ids.</summary>
    public int[] Targets { get; }

    /// <summary>(B,T,V) logits of the real vocabulary.</summary>
    public float[] Logits { get; }

    /// <summary>Mean cross-entropy loss.</summary>
    public float Loss { get; }

    /// <summary>Every parameter's gradient, in layout order.</summary>
    public float[] Gradients { get; }

    /// <summary>Reads and validates a debug state for a model of the given shape.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">The model's shape, which fixes V and the number of parameters.</param>
    /// <returns>The state.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">Wrong magic or version, bad B or T, wrong length, or tokens outside the vocabulary.</exception>
    public static DebugState Read(string path, Gpt2Config config)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(config);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Debug state file not found: {path}", path);
        }

        using var stream = FileHeader.OpenRead(path, "llm.c debug state");
        int[] h = FileHeader.Read(stream, path, Magic, "llm.c debug state", Version);
        int b = h[2], t = h[3];
        if (b <= 0 || t <= 0 || t > config.MaxSequenceLength)
        {
            throw new FileFormatException(path, $"invalid batch shape B={b}, T={t} for a model with maxT={config.MaxSequenceLength}.");
        }

        long bt = (long)b * t;
        long parameters = new ParameterLayout(config).Count;
        long expected = FileHeader.Bytes + (2 * bt + bt * config.VocabularySize + 1 + parameters) * 4;
        FileHeader.CheckLength(stream, path, expected,
            $"B={b}, T={t} with V={config.VocabularySize} and {parameters} parameters");
        var inputs = new int[bt];
        var targets = new int[bt];
        var logits = new float[bt * config.VocabularySize];
        var loss = new float[1];
        var gradients = new float[parameters];
        stream.ReadExactly<int>(inputs, path);
        stream.ReadExactly<int>(targets, path);
        stream.ReadExactly<float>(logits, path);
        stream.ReadExactly<float>(loss, path);
        stream.ReadExactly<float>(gradients, path);
        CheckTokens(inputs, config.VocabularySize, path, "input");
        CheckTokens(targets, config.VocabularySize, path, "target");
        return new DebugState(config, b, t, inputs, targets, logits, loss[0], gradients);
    }

    /// <summary>Writes the state atomically.</summary>
    /// <param name="path">The file.</param>
    public void Write(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            FileHeader.Write(stream, [Magic, Version, BatchSize, SequenceLength]);
            stream.Write<int>(Inputs);
            stream.Write<int>(Targets);
            stream.Write<float>(Logits);
            stream.Write<float>([Loss]);
            stream.Write<float>(Gradients);
        });
    }

    private static void Check<T>(T[] array, long length, string name)
    {
        ArgumentNullException.ThrowIfNull(array, name);
        if (array.LongLength != length)
        {
            throw new ArgumentException($"Expected {length} elements, got {array.LongLength}.", name);
        }
    }

    private static void CheckTokens(int[] tokens, int vocabularySize, string path, string what)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)vocabularySize)
            {
                throw new FileFormatException(path, $"{what} token {tokens[i]} at position {i} is outside the vocabulary [0, {vocabularySize}).");
            }
        }
    }
}
