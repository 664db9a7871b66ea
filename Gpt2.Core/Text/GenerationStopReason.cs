namespace Gpt2.Text;

/// <summary>Why a generation stopped.</summary>
public enum GenerationStopReason
{
    /// <summary><see cref="GenerationOptions.MaxTokens"/> tokens were generated.</summary>
    MaxTokens,

    /// <summary>The end-of-text token was drawn and <see cref="GenerationOptions.StopAtEndOfText"/> is set.</summary>
    EndOfText,

    /// <summary>The model's context (maxT) is full.</summary>
    ContextFull,
}
