namespace Gpt2.Text;

/// <summary>A finished generation.</summary>
/// <param name="Tokens">The generated token ids (the prompt not included).</param>
/// <param name="Text">The generated text (the prompt not included).</param>
/// <param name="StopReason">Why generation stopped.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, string Text, GenerationStopReason StopReason);
