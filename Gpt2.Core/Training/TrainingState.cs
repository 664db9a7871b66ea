using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.IO;

namespace Gpt2.Training;

/// <summary>
/// The optimizer and data state that, with a model file, resumes training exactly: a 1024-byte header
/// (magic 20251128, version 3, step, AdamW t, train loader shard and sample, sampler state, parameter count, bytes of
/// the record at the end, 1 when master weights follow) followed by AdamW's first and second moments as float32, a
/// bf16 model's fp32 master weights, then a UTF-8 JSON record: the run's id, the SHA-256 of the model file written
/// with this state, the settings the run trained with (checked on resume) and the outlier detectors' windows.
/// Versions 1 (no record) and 2 (no master weights) are still read.
/// </summary>
/// <remarks>Not thread-safe: its moments are mutable arrays.</remarks>
public sealed class TrainingState
{
    /// <summary>The header magic number.</summary>
    public const int Magic = 20251128;

    /// <summary>The version written (versions 1 and 2 are still read).</summary>
    public const int Version = 3;

    private readonly float[]? _masterWeights;

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

    /// <summary>The run's id, kept by every checkpoint of a run and its resumptions (null in version 1 files).</summary>
    public string? RunId { get; init; }

    /// <summary>The SHA-256 (lowercase hex) of the model file of the same checkpoint, checked on resume (null in version 1 files).</summary>
    public string? ModelSha256 { get; init; }

    /// <summary>What the run trained with (batch shape, data, schedule, seed, model), by name; checked on resume.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>The optimizer's fp32 master weights of a bf16 model, in parameter layout; null for an fp32 model (version 3 files).</summary>
    /// <exception cref="ArgumentException">Set to an array of another length than the moments.</exception>
    public float[]? MasterWeights
    {
        get => _masterWeights;
        init => _masterWeights = value is null || value.Length == FirstMoment.Length
            ? value
            : throw new ArgumentException($"{value.Length} master weights for {FirstMoment.Length} moments.", nameof(value));
    }

    /// <summary>The loss and gradient-norm outlier detectors' states.</summary>
    internal double[]? LossOutliers { get; init; }

    internal double[]? NormOutliers { get; init; }

    /// <summary>Writes the state atomically.</summary>
    /// <param name="path">The file.</param>
    public void Write(string path)
    {
        byte[] record = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Record(RunId, ModelSha256, Settings, LossOutliers, NormOutliers));
        AtomicFile.Write(path, stream =>
        {
            long sample = TrainPosition.Sample;
            FileHeader.Write(stream, [Magic, Version, Step, OptimizerStep, TrainPosition.Shard,
                (int)(sample & 0xFFFFFFFF), (int)(sample >> 32), (int)(SamplerState & 0xFFFFFFFF), (int)(SamplerState >> 32),
                FirstMoment.Length, record.Length, MasterWeights is null ? 0 : 1]);
            stream.Write<float>(FirstMoment);
            stream.Write<float>(SecondMoment);
            if (MasterWeights is { } master)
            {
                stream.Write<float>(master);
            }

            stream.Write(record);
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

        using var stream = FileHeader.OpenRead(path, "training state");
        int[] h = FileHeader.Read(stream, path, Magic, "training state", 1, 2, Version);
        if (h[9] != parameterCount)
        {
            throw new FileFormatException(path, $"holds optimizer state for {h[9]} parameters, the model has {parameterCount}.");
        }

        int recordBytes = h[1] == 1 ? 0 : h[10];
        if (recordBytes < 0)
        {
            throw new FileFormatException(path, $"negative record length {recordBytes}.");
        }

        bool hasMaster = h[1] >= 3 && h[11] == 1;
        if (h[1] >= 3 && h[11] is not (0 or 1))
        {
            throw new FileFormatException(path, $"invalid master-weights flag {h[11]}.");
        }

        int arrays = hasMaster ? 3 : 2;
        FileHeader.CheckLength(stream, path, FileHeader.Bytes + arrays * parameterCount * sizeof(float) + recordBytes,
            $"moments{(hasMaster ? " and master weights" : "")} of {parameterCount} parameters");
        var m = new float[parameterCount];
        var v = new float[parameterCount];
        stream.ReadExactly<float>(m, path);
        stream.ReadExactly<float>(v, path);
        float[]? master = null;
        if (hasMaster)
        {
            master = new float[parameterCount];
            stream.ReadExactly<float>(master, path);
        }

        Record? record = null;
        if (recordBytes > 0)
        {
            var bytes = new byte[recordBytes];
            stream.ReadExactly<byte>(bytes, path);
            try
            {
                record = System.Text.Json.JsonSerializer.Deserialize<Record>(bytes);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new FileFormatException(path, $"the run record is not valid JSON: {e.Message}");
            }
        }

        long sample = (uint)h[5] | ((long)h[6] << 32);
        ulong rng = (uint)h[7] | ((ulong)(uint)h[8] << 32);
        return new TrainingState(h[2], h[3], new DataLoaderPosition(h[4], sample), rng, m, v)
        {
            RunId = record?.RunId,
            ModelSha256 = record?.ModelSha256,
            MasterWeights = master,
            Settings = record?.Settings ?? new Dictionary<string, string>(),
            LossOutliers = record?.LossOutliers,
            NormOutliers = record?.NormOutliers,
        };
    }

    /// <summary>The same state, recording the SHA-256 of the model file it goes with.</summary>
    internal TrainingState WithModelSha256(string sha256) =>
        new(Step, OptimizerStep, TrainPosition, SamplerState, FirstMoment, SecondMoment)
        {
            RunId = RunId, ModelSha256 = sha256, Settings = Settings, MasterWeights = MasterWeights, LossOutliers = LossOutliers, NormOutliers = NormOutliers,
        };

    /// <summary>The JSON record after the moments.</summary>
    private sealed record Record(string? RunId, string? ModelSha256, IReadOnlyDictionary<string, string>? Settings, double[]? LossOutliers, double[]? NormOutliers);
}
