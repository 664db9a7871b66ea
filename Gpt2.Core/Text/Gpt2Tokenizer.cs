using Microsoft.ML.Tokenizers;

namespace Gpt2.Text;

/// <summary>GPT-2's byte-level BPE tokenizer (50,257 tokens), from Microsoft.ML.Tokenizers' GPT-2 data.</summary>
public sealed class Gpt2Tokenizer
{
    /// <summary>The end-of-text token, which separates documents.</summary>
    public const int EndOfText = 50256;

    /// <summary>The end-of-text token's text.</summary>
    public const string EndOfTextText = "<|endoftext|>";

    private static readonly Lazy<Gpt2Tokenizer> Shared = new(() => new Gpt2Tokenizer());
    private readonly TiktokenTokenizer _tokenizer;

    private Gpt2Tokenizer() => _tokenizer = TiktokenTokenizer.CreateForModel("gpt2");

    /// <summary>The tokenizer (loading the vocabulary once per process).</summary>
    public static Gpt2Tokenizer Instance => Shared.Value;

    /// <summary>Encodes text; <c>&lt;|endoftext|&gt;</c> in the text becomes token 50256.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The token ids.</returns>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.EncodeToIds(text);
    }

    /// <summary>
    /// Appends one document as llm.c's data scripts write it: the end-of-text token, then the document's tokens.
    /// </summary>
    /// <param name="text">The document.</param>
    /// <param name="tokens">Where the tokens go, as uint16 shard tokens.</param>
    public void AppendDocument(string text, List<ushort> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        tokens.Add(EndOfText);
        foreach (int t in Encode(text))
        {
            tokens.Add(checked((ushort)t));
        }
    }

    /// <summary>Decodes tokens to text (invalid UTF-8 sequences become U+FFFD).</summary>
    /// <param name="tokens">The token ids.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> tokens) => _tokenizer.Decode(tokens);
}
