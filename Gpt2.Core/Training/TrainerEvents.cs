namespace Gpt2.Training;

/// <summary>One optimizer step.</summary>
/// <param name="Step">0-based step.</param>
/// <param name="MaxSteps">Steps the run is set to take.</param>
/// <param name="Loss">Mean training loss over the step's micro-batches.</param>
/// <param name="ValidationLoss">The latest validation loss of this run, or null before the first evaluation.</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
/// <param name="Milliseconds">Wall time of the step.</param>
/// <param name="TokensPerSecond">Tokens processed per second in the step, by all processes together.</param>
/// <param name="CommunicationMilliseconds">Time of the step spent in collectives (gradient reduction, parameter gathering); 0 for one process.</param>
/// <param name="SkippedUpdate">
/// Why the update was skipped (<see cref="TrainerOptions.SkipLossZScore"/>, <see cref="TrainerOptions.SkipGradientNormZScore"/>),
/// for example <c>loss z-score 7.1</c>; null when it was applied.
/// </param>
public readonly record struct TrainStepReport(int Step, int MaxSteps, float Loss, float? ValidationLoss, float LearningRate, float GradientNorm, double Milliseconds,
    double TokensPerSecond, double CommunicationMilliseconds, string? SkippedUpdate = null);

/// <summary>A validation evaluation.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Loss">Mean validation loss.</param>
public readonly record struct ValidationReport(int Step, float Loss);

/// <summary>A HellaSwag evaluation during training.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="NormalizedAccuracy">acc_norm over every process's examples.</param>
/// <param name="Examples">Examples scored, by every process together.</param>
public readonly record struct HellaSwagReport(int Step, double NormalizedAccuracy, int Examples);

/// <summary>A generated sample.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Text">The generated text.</param>
public readonly record struct SampleReport(int Step, string Text);
