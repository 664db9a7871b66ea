namespace Gpt2.Training;

/// <summary>One optimizer step: what <see cref="Trainer.StepCompleted"/> and the run's progress receive.</summary>
/// <param name="step">0-based step.</param>
/// <param name="maxSteps">Steps the run is set to take.</param>
/// <param name="loss">Mean training loss over the step's micro-batches.</param>
/// <param name="validationLoss">The latest validation loss of this run, or null before the first evaluation.</param>
/// <param name="learningRate">Learning rate used.</param>
/// <param name="gradientNorm">Global gradient norm before clipping.</param>
/// <param name="milliseconds">Wall time of the step.</param>
/// <param name="tokensPerSecond">Tokens processed per second in the step, by all processes together.</param>
/// <param name="communicationMilliseconds">Time of the step spent in collectives; 0 for one process.</param>
/// <param name="skippedUpdate">Why the update was skipped, or null when it was applied.</param>
/// <param name="modelFlopUtilization">Model FLOPs per second ÷ the devices' peak, or null when the peak is unknown.</param>
/// <remarks>Immutable, so safe to read from any thread.</remarks>
public sealed class TrainStepEventArgs(int step, int maxSteps, float loss, float? validationLoss, float learningRate, float gradientNorm,
    double milliseconds, double tokensPerSecond, double communicationMilliseconds, string? skippedUpdate = null, double? modelFlopUtilization = null) : EventArgs
{
    /// <summary>
    /// MFU: <see cref="Gpt2Config.TrainingFlopsPerToken"/> × tokens/s ÷ (processes × <see cref="Backends.ComputeBackend.PeakFlops"/>),
    /// between 0 and 1; null when the backend knows no peak (CPUs, unlisted GPUs).
    /// </summary>
    public double? ModelFlopUtilization { get; } = modelFlopUtilization;

    /// <summary>0-based step.</summary>
    public int Step { get; } = step;

    /// <summary>Steps the run is set to take.</summary>
    public int MaxSteps { get; } = maxSteps;

    /// <summary>Mean training loss over the step's micro-batches.</summary>
    public float Loss { get; } = loss;

    /// <summary>The latest validation loss of this run, or null before the first evaluation.</summary>
    public float? ValidationLoss { get; } = validationLoss;

    /// <summary>Learning rate used.</summary>
    public float LearningRate { get; } = learningRate;

    /// <summary>Global gradient norm before clipping.</summary>
    public float GradientNorm { get; } = gradientNorm;

    /// <summary>Wall time of the step.</summary>
    public double Milliseconds { get; } = milliseconds;

    /// <summary>Tokens processed per second in the step, by all processes together.</summary>
    public double TokensPerSecond { get; } = tokensPerSecond;

    /// <summary>Time of the step spent in collectives (gradient reduction, parameter gathering); 0 for one process.</summary>
    public double CommunicationMilliseconds { get; } = communicationMilliseconds;

    /// <summary>
    /// Why the update was skipped (<see cref="TrainerOptions.SkipLossZScore"/>, <see cref="TrainerOptions.SkipGradientNormZScore"/>),
    /// for example <c>loss z-score 7.1</c>; null when it was applied.
    /// </summary>
    public string? SkippedUpdate { get; } = skippedUpdate;
}

/// <summary>A validation evaluation (<see cref="Trainer.Validated"/>).</summary>
/// <param name="step">Steps completed.</param>
/// <param name="loss">Mean validation loss.</param>
/// <remarks>Immutable, so safe to read from any thread.</remarks>
public sealed class ValidationEventArgs(int step, float loss) : EventArgs
{
    /// <summary>Steps completed.</summary>
    public int Step { get; } = step;

    /// <summary>Mean validation loss.</summary>
    public float Loss { get; } = loss;
}

/// <summary>A HellaSwag evaluation during training (<see cref="Trainer.HellaSwagEvaluated"/>).</summary>
/// <param name="step">Steps completed.</param>
/// <param name="normalizedAccuracy">acc_norm over every process's examples.</param>
/// <param name="examples">Examples scored, by every process together.</param>
/// <remarks>Immutable, so safe to read from any thread.</remarks>
public sealed class HellaSwagEventArgs(int step, double normalizedAccuracy, int examples) : EventArgs
{
    /// <summary>Steps completed.</summary>
    public int Step { get; } = step;

    /// <summary>acc_norm over every process's examples.</summary>
    public double NormalizedAccuracy { get; } = normalizedAccuracy;

    /// <summary>Examples scored, by every process together.</summary>
    public int Examples { get; } = examples;
}

/// <summary>A generated sample (<see cref="Trainer.Sampled"/>).</summary>
/// <param name="step">Steps completed.</param>
/// <param name="text">The generated text.</param>
/// <remarks>Immutable, so safe to read from any thread.</remarks>
public sealed class SampleEventArgs(int step, string text) : EventArgs
{
    /// <summary>Steps completed.</summary>
    public int Step { get; } = step;

    /// <summary>The generated text.</summary>
    public string Text { get; } = text;
}

/// <summary>A checkpoint written (<see cref="Trainer.Checkpointed"/>).</summary>
/// <param name="checkpoint">Its step and files.</param>
/// <remarks>Immutable, so safe to read from any thread.</remarks>
public sealed class CheckpointEventArgs(Checkpoint checkpoint) : EventArgs
{
    /// <summary>Steps completed.</summary>
    public int Step => Checkpoint.Step;

    /// <summary>The model file (llm.c's format).</summary>
    public string ModelPath => Checkpoint.ModelPath;

    /// <summary>The checkpoint's step, model file and training-state file.</summary>
    public Checkpoint Checkpoint { get; } = checkpoint;
}
