using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.IO;

namespace Gpt2.Training;

/// <summary>
/// The optimizer and data state that, with a model file, resumes training exactly: a 1024-byte header
/// (magic 20251128, version 1, step, AdamW t, train loader shard and sample, sampler state, parameter count)
/// followed by AdamW's first and second moments as float32.
/// </summary>
public sealed class TrainingState
{
    /// <summary>The header magic number.</summary>
    public const int Magic = 20251128;

    /// <summary>The only supported version.</summary>
    public const int Version = 1;

    /// <summary>Creates a state.</summary>
    /// <param name="step">Steps completed.</param>
    /// <param name="optimizerStep">AdamW's t.</param>
    /// <param name="trainPosition">Where the training loader reads next.</param>
    /// <param name="samplerState">The sampler's generator state.</param>
    /// <param name="firstMoment">AdamW m, in parameter layout.</param>
    /// <param name="secondMoment">AdamW v, in parameter layout.</param>
    public TrainingState(int step, int optimizerStep, DataLoaderPosition trainPosition, ulong samplerState, float[] firstMoment, float[] secondMoment)
    {
        ArgumentNullException.ThrowIfNull(firstMoment);
        ArgumentNullException.ThrowIfNull(secondMoment);
        if (firstMoment.Length != secondMoment.Length)
        {
            throw new ArgumentException("The moments differ in length.", nameof(secondMoment));
        }

        Step = step;
        OptimizerStep = optimizerStep;
        TrainPosition = trainPosition;
        SamplerState = samplerState;
        FirstMoment = firstMoment;
        SecondMoment = secondMoment;
    }

    /// <summary>Steps completed.</summary>
    public int Step { get; }

    /// <summary>AdamW's t.</summary>
    public int OptimizerStep { get; }

    /// <summary>Where the training loader reads next.</summary>
    public DataLoaderPosition TrainPosition { get; }

    /// <summary>The sampler's generator state.</summary>
    public ulong SamplerState { get; }

    /// <summary>AdamW m.</summary>
    public float[] FirstMoment { get; }

    /// <summary>AdamW v.</summary>
    public float[] SecondMoment { get; }

    /// <summary>Writes the state atomically.</summary>
    /// <param name="path">The file.</param>
    public void Write(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            long sample = TrainPosition.Sample;
            FileHeader.Write(stream, [Magic, Version, Step, OptimizerStep, TrainPosition.Shard,
                (int)(sample & 0xFFFFFFFF), (int)(sample >> 32), (int)(SamplerState & 0xFFFFFFFF), (int)(SamplerState >> 32),
                FirstMoment.Length]);
            stream.Write<float>(FirstMoment);
            stream.Write<float>(SecondMoment);
        });
    }

    /// <summary>Reads and validates a state for a model with <paramref name="parameterCount"/> parameters.</summary>
    /// <param name="path">The file.</param>
    /// <param name="parameterCount">The model's parameter count.</param>
    /// <returns>The state.</returns>
    public static TrainingState Read(string path, long parameterCount)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Training state not found: {path}", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        int[] h = FileHeader.Read(stream, path, Magic, "training state", Version);
        if (h[9] != parameterCount)
        {
            throw new FileFormatException(path, $"holds optimizer state for {h[9]} parameters, the model has {parameterCount}.");
        }

        FileHeader.CheckLength(stream, path, FileHeader.Bytes + 2 * parameterCount * sizeof(float), $"moments of {parameterCount} parameters");
        var m = new float[parameterCount];
        var v = new float[parameterCount];
        stream.ReadExactly<float>(m, path);
        stream.ReadExactly<float>(v, path);
        long sample = (uint)h[5] | ((long)h[6] << 32);
        ulong rng = (uint)h[7] | ((ulong)(uint)h[8] << 32);
        return new TrainingState(h[2], h[3], new DataLoaderPosition(h[4], sample), rng, m, v);
    }
}
