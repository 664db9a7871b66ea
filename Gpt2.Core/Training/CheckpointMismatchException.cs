namespace Gpt2.Training;

/// <summary>
/// A checkpoint cannot be resumed as asked, or an output folder holds another run's checkpoints: the model file is
/// not the one its state was written with, the run trained with other settings, the data no longer matches, or a new
/// run would mix its checkpoints with an earlier run's. The message names what differs and how to proceed.
/// </summary>
/// <remarks>Immutable once thrown: safe to read from any thread.</remarks>
public sealed class CheckpointMismatchException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What differs, and how to proceed.</param>
    public CheckpointMismatchException(string message)
        : base(message)
    {
    }
}
