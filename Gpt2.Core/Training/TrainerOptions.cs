using Gpt2.Optimization;

namespace Gpt2.Training;

/// <summary>How a <see cref="Trainer"/> runs; the comments name the matching llm.c flag.</summary>
public sealed record TrainerOptions
{
    /// <summary>Tokens per optimizer step (-d); a multiple of B·T (the training loader's micro-batch), which sets gradient accumulation. 0 means B·T.</summary>
    public int TotalBatchTokens { get; init; }

    /// <summary>Optimizer steps (-x).</summary>
    public int MaxSteps { get; init; } = 100;

    /// <summary>The learning rate schedule (-k, -l, -u, -q); its total steps should equal <see cref="MaxSteps"/>.</summary>
    public LearningRateSchedule Schedule { get; init; } = new(ScheduleKind.Cosine, 3e-4f, 0, 100, 1f);

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
}
