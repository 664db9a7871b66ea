namespace Gpt2.Text;

/// <summary>How <see cref="Model.Gpt2Model.Generate"/> and its streaming forms draw tokens.</summary>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate at most (the model's context may stop generation earlier).</summary>
    public int MaxTokens { get; init; } = 128;

    /// <summary>Softmax temperature; 0 is greedy.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Sample among the k most likely tokens; 0 for all.</summary>
    public int TopK { get; init; }

    /// <summary>Sample among the most likely tokens whose probability reaches p; 1 for all.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Seed of the sampler: the same seed, prompt and model give the same text.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>Stop after drawing the end-of-text token (it is still returned); on by default, since GPT-2 ends a document with it.</summary>
    public bool StopAtEndOfText { get; init; } = true;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range; the message names it.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxTokens);
        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be 0 or more.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(TopK);
        if (!(TopP > 0 && TopP <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        }
    }
}
