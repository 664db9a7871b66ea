namespace Gpt2.Training;

/// <summary>What a <see cref="Trainer"/> run did.</summary>
/// <param name="Step">Optimizer steps completed in all (a resumed run counts the steps before it).</param>
/// <param name="StepsRun">Steps taken by this run.</param>
/// <param name="TokensProcessed">Training tokens this run consumed (this process's share).</param>
/// <param name="FinalLoss">The last step's training loss, or null when this run took no step.</param>
/// <param name="FinalValidationLoss">The last validation loss of this run, or null when none was evaluated.</param>
/// <param name="Cancelled">The run stopped early because its token was cancelled.</param>
/// <param name="Checkpoint">The model file of the last checkpoint this run wrote, or null.</param>
/// <param name="Elapsed">Wall time of the run, evaluations and checkpoints included.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record TrainingSummary(int Step, int StepsRun, long TokensProcessed, float? FinalLoss, float? FinalValidationLoss, bool Cancelled,
    string? Checkpoint, TimeSpan Elapsed);
