namespace Gpt2.Text;

/// <summary>
/// Decodes tokens one at a time for streaming output without ever emitting half a UTF-8 character: a token can end
/// in the middle of a multi-byte character, so text is held back until the pending tokens decode cleanly.
/// </summary>
/// <remarks>Not thread-safe: it keeps the bytes of a character not yet complete.</remarks>
public sealed class StreamingDecoder
{
    // A UTF-8 character spans at most 4 bytes, hence at most 4 tokens; past that the bytes are truly invalid.
    private const int MaxPending = 4;
    private readonly Gpt2Tokenizer _tokenizer;
    private readonly List<int> _pending = [];

    /// <summary>Creates a decoder.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    public StreamingDecoder(Gpt2Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>Adds a token; returns the text that is now complete (possibly empty).</summary>
    /// <param name="token">The next token.</param>
    /// <returns>New complete text.</returns>
    public string Push(int token)
    {
        _pending.Add(token);
        string text = _tokenizer.Decode(_pending);
        if (text.EndsWith('\uFFFD') && _pending.Count < MaxPending)
        {
            return "";
        }

        _pending.Clear();
        return text;
    }

    /// <summary>Returns whatever is still held back, decoded as is.</summary>
    /// <returns>The remaining text.</returns>
    public string Flush()
    {
        string text = _pending.Count > 0 ? _tokenizer.Decode(_pending) : "";
        _pending.Clear();
        return text;
    }
}
