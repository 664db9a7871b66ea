namespace Gpt2.Training;

/// <summary>
/// A step produced a loss or gradient norm that is not a finite number, or the parameters stopped being finite. The
/// step's update was not applied and no checkpoint was written over a good one; the message names the step, the
/// first tensor that went bad (when it could be told) and the last good checkpoint.
/// </summary>
/// <remarks>Immutable once thrown: safe to read from any thread.</remarks>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">The step (0-based) whose numbers went bad.</param>
    /// <param name="what">What went bad, for example "loss NaN".</param>
    /// <param name="tensor">The first parameter tensor whose gradient or value is not finite, or null.</param>
    /// <param name="lastCheckpoint">The newest checkpoint of the run (model file), or null.</param>
    public TrainingDivergedException(int step, string what, string? tensor, string? lastCheckpoint)
        : base($"Training diverged at step {step}: {what}{(tensor is null ? "" : $" (first non-finite: {tensor})")}; the update was not applied. " +
            (lastCheckpoint is null ? "No checkpoint was written." : $"Last good checkpoint: {lastCheckpoint}."))
    {
        Step = step;
        Tensor = tensor;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>The step whose numbers went bad.</summary>
    public int Step { get; }

    /// <summary>The first parameter tensor whose gradient or value is not finite, when known.</summary>
    public string? Tensor { get; }

    /// <summary>The newest checkpoint of the run (model file), or null.</summary>
    public string? LastCheckpoint { get; }
}
