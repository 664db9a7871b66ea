using Gpt2.Optimization;

namespace Gpt2.Training;

/// <summary>How a <see cref="Trainer"/> runs; the comments name the matching llm.c flag.</summary>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record TrainerOptions
{
    /// <summary>Tokens per optimizer step (-d); a multiple of B·T (the training loader's micro-batch), which sets gradient accumulation. 0 means B·T.</summary>
    public int TotalBatchTokens { get; init; }

    /// <summary>Optimizer steps (-x).</summary>
    public int MaxSteps { get; init; } = 100;

    /// <summary>
    /// The learning rate schedule (-k, -l, -u, -q). A <see cref="LearningRateSchedule.TotalSteps"/> of 0 (the default:
    /// cosine from 3e-4 down to 10% with no warmup) means <see cref="MaxSteps"/>; see <see cref="ResolvedSchedule"/>.
    /// </summary>
    public LearningRateSchedule Schedule { get; init; } = new(ScheduleKind.Cosine, 3e-4f, 0, 0, 0.1f);

    /// <summary>The schedule the run follows: <see cref="Schedule"/>, its length <see cref="MaxSteps"/> unless it gives one.</summary>
    public LearningRateSchedule ResolvedSchedule => Schedule.TotalSteps == 0 ? Schedule with { TotalSteps = MaxSteps } : Schedule;

    /// <summary>AdamW settings (-c weight decay, on matrices only as llm.c's GPU trainer; clipping at norm 1).</summary>
    public AdamWOptions Optimizer { get; init; } = new()
    {
        Beta1 = 0.9f, Beta2 = 0.95f, Epsilon = 1e-8f, WeightDecay = 0f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f,
    };

    /// <summary>Evaluate the validation loss every this many steps and at the end (-v); 0 for only at the end (when a validation loader is given).</summary>
    public int ValidationEvery { get; init; } = 20;

    /// <summary>Validation batches per evaluation (-m).</summary>
    public int ValidationBatches { get; init; } = 20;

    /// <summary>Generate a sample every this many steps and at the end (-s); 0 for only at the end; see <see cref="SampleTokens"/> to turn samples off.</summary>
    public int SampleEvery { get; init; } = 20;

    /// <summary>Tokens per sample (-g); 0 for no samples.</summary>
    public int SampleTokens { get; init; } = 64;

    /// <summary>Write a checkpoint every this many steps and at the end (-n); 0 for only at the end (when an output folder is set).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Folder for the log and checkpoints (-o); null for none.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>When a run is cancelled, write a checkpoint of the last completed step (when an output folder is set).</summary>
    public bool CheckpointOnCancel { get; init; } = true;

    /// <summary>Train on the first batch over and over (-a), to check that the model can overfit.</summary>
    public bool OverfitSingleBatch { get; init; }

    /// <summary>
    /// In a data-parallel job (-z): 0 keeps the whole optimizer state on every process; 1 (ZeRO stage 1) gives each
    /// process the AdamW moments of its share of the parameters only, reduce-scattering gradients and all-gathering
    /// parameters instead of all-reducing gradients.
    /// </summary>
    public int ZeroStage { get; init; }

    /// <summary>
    /// Where the trainer logs what it does (each step at Debug; evaluations, samples, checkpoints and the run at
    /// Information; a diverged run at Error); null for no logging. Only rank 0 logs.
    /// </summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }

    /// <summary>Seed of the sampler.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>
    /// llm.c's <c>-sl</c>: skip a step's update when its loss is more than this many standard deviations above the
    /// mean of the last 128 steps (0: off). Skipped steps are reported and logged.
    /// </summary>
    public float SkipLossZScore { get; init; }

    /// <summary>llm.c's <c>-sg</c>: the same for the gradient norm (0: off).</summary>
    public float SkipGradientNormZScore { get; init; }

    /// <summary>
    /// llm.c's <c>-h 1</c>: HellaSwag examples to score at every validation step (acc_norm, logged as
    /// <c>s:STEP eval:ACC</c>; in a data-parallel job each process scores its share); null for none.
    /// </summary>
    public IReadOnlyList<Evaluation.HellaSwagExample>? HellaSwag { get; init; }

    /// <summary>llm.c's <c>-nk</c>: keep only the newest this many checkpoints in the output folder (0: all).</summary>
    public int KeepCheckpoints { get; init; }

    /// <summary>llm.c's <c>-nm</c>: checkpoints at multiples of this step are kept whatever <see cref="KeepCheckpoints"/> says (0: none).</summary>
    public int MajorCheckpointEvery { get; init; }

    /// <summary>
    /// A run that does not resume refuses an output folder holding checkpoints of an earlier run, which a later resume
    /// would mix with its own; set this to delete them (and main.log) instead.
    /// </summary>
    public bool OverwriteCheckpoints { get; init; }

    /// <summary>
    /// Resuming refuses a checkpoint whose run trained with other settings (B, T, total batch, data, schedule, seed,
    /// model); set this when the change is deliberate.
    /// </summary>
    public bool AllowResumeChanges { get; init; }

    /// <summary>Checks every value, naming the first that is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        static void Check(bool ok, string name, object? value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentOutOfRangeException(name, value, $"TrainerOptions.{name} {rule}.");
            }
        }

        var s = Schedule ?? throw new ArgumentOutOfRangeException(nameof(Schedule), null, "TrainerOptions.Schedule is required.");
        Check(MaxSteps > 0, nameof(MaxSteps), MaxSteps, "must be positive");
        Check(TotalBatchTokens >= 0, nameof(TotalBatchTokens), TotalBatchTokens, "must be 0 (B·T) or positive");
        Check(float.IsFinite(s.LearningRate) && s.LearningRate > 0, nameof(Schedule), s.LearningRate, "needs a positive, finite learning rate");
        Check(s.WarmupSteps >= 0 && s.TotalSteps >= 0, nameof(Schedule), s, "needs warmup and total steps of 0 or more (0 total: MaxSteps)");
        Check(s.FinalFraction is >= 0 and <= 1, nameof(Schedule), s.FinalFraction, "needs a final fraction in [0, 1]");
        Check(ValidationEvery >= 0, nameof(ValidationEvery), ValidationEvery, "must be 0 or more");
        Check(ValidationBatches > 0, nameof(ValidationBatches), ValidationBatches, "must be positive");
        Check(SampleEvery >= 0, nameof(SampleEvery), SampleEvery, "must be 0 or more");
        Check(SampleTokens >= 0, nameof(SampleTokens), SampleTokens, "must be 0 or more");
        Check(CheckpointEvery >= 0, nameof(CheckpointEvery), CheckpointEvery, "must be 0 or more");
        Check(ZeroStage is 0 or 1, nameof(ZeroStage), ZeroStage, "must be 0 (plain data parallel) or 1 (sharded optimizer state)");
        Check(KeepCheckpoints >= 0, nameof(KeepCheckpoints), KeepCheckpoints, "must be 0 (all) or more");
        Check(MajorCheckpointEvery >= 0, nameof(MajorCheckpointEvery), MajorCheckpointEvery, "must be 0 (none) or more");
        Check(SkipLossZScore >= 0 && float.IsFinite(SkipLossZScore), nameof(SkipLossZScore), SkipLossZScore, "must be 0 (off) or a positive z-score");
        Check(SkipGradientNormZScore >= 0 && float.IsFinite(SkipGradientNormZScore), nameof(SkipGradientNormZScore), SkipGradientNormZScore, "must be 0 (off) or a positive z-score");
    }
}
