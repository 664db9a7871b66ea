using Gpt2.Formats;
using Gpt2.Text;

namespace Gpt2.Data;

/// <summary>
/// Any text corpus into llm.c token shards: each file is a document preceded by the end-of-text token; the first
/// tokens form the validation shard, the rest are cut into training shards of a fixed size. Streams: files are
/// tokenized a batch at a time and one shard is held in memory, however large the corpus.
/// </summary>
public static class TextCorpus
{
    /// <summary>Tokenizes files (in parallel, kept in order) and writes <c>PREFIX_val_000000.bin</c> and <c>PREFIX_train_NNNNNN.bin</c>.</summary>
    /// <param name="files">The text files, in order.</param>
    /// <param name="directory">Output folder.</param>
    /// <param name="prefix">File name prefix.</param>
    /// <param name="validationTokens">Tokens in the validation shard.</param>
    /// <param name="shardTokens">Tokens per training shard.</param>
    /// <param name="progress">Receives the number of files tokenized so far.</param>
    /// <returns>The shard paths written, validation first.</returns>
    /// <exception cref="FileFormatException">A file is not UTF-8 text (invalid UTF-8, or more than 1% NUL characters).</exception>
    public static IReadOnlyList<string> Write(IReadOnlyList<string> files, string directory, string prefix, int validationTokens, int shardTokens,
        Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfNegative(validationTokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shardTokens);
        var tokenizer = Gpt2Tokenizer.Instance;
        var writer = new TokenShardWriter(
            i => Path.Combine(directory, i == 0 ? $"{prefix}_val_000000.bin" : $"{prefix}_train_{i - 1:D6}.bin"), validationTokens, shardTokens);
        // a batch of files at a time, tokenized in parallel and appended in order: memory holds one batch and one shard
        int batch = Math.Max(1, Environment.ProcessorCount * 4), done = 0;
        try
        {
            for (int first = 0; first < files.Count; first += batch)
            {
                var documents = new ushort[Math.Min(batch, files.Count - first)][];
                try
                {
                    Parallel.For(0, documents.Length, i =>
                    {
                        var doc = new List<ushort>();
                        tokenizer.AppendDocument(ReadText(files[first + i]), doc);
                        documents[i] = [.. doc];
                        progress?.Invoke(Interlocked.Increment(ref done));
                    });
                }
                catch (AggregateException e) when (e.InnerExceptions.OfType<IOException>().FirstOrDefault() is { } io)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(io); // the file's own error, not the loop's wrapper
                }

                foreach (var doc in documents)
                {
                    writer.Append(doc);
                }
            }

            if (writer.Tokens <= validationTokens)
            {
                throw new ArgumentException($"The corpus has {writer.Tokens} tokens, not more than the {validationTokens} asked for validation.", nameof(validationTokens));
            }

            writer.Finish();
        }
        catch
        {
            writer.DeleteWritten();
            throw;
        }

        return writer.Written;
    }

    /// <summary>
    /// A file's text, refusing what is not UTF-8 text: tokenizing binary data would make shards of garbage silently.
    /// </summary>
    internal static string ReadText(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var strict = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        int bom = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        string text;
        try
        {
            text = strict.GetString(bytes, bom, bytes.Length - bom);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new FileFormatException(path, $"not UTF-8 text: invalid byte 0x{bytes[bom + Math.Max(0, e.Index)]:X2} at offset {bom + Math.Max(0, e.Index)}; prepare text takes UTF-8 text files.");
        }

        int nuls = text.AsSpan().Count('\0');
        if (nuls > text.Length / 100)
        {
            throw new FileFormatException(path, $"looks like binary data, not text: {nuls} of its {text.Length} characters are NUL.");
        }

        return text;
    }
}
