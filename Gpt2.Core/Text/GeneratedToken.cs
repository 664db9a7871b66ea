namespace Gpt2.Text;

/// <summary>One generated token as it streams out.</summary>
/// <param name="Id">The token id.</param>
/// <param name="Text">
/// The text this token completes: empty while a multi-byte character is still incomplete, and on the last token
/// everything still held back. Concatenated, the pieces are the generated text.
/// </param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct GeneratedToken(int Id, string Text);
