using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Gpt2.Formats;
using Gpt2.IO;
using Gpt2.Model;
using Gpt2.Text;

namespace Gpt2.Data;

/// <summary>
/// TinyStories into llm.c token shards, as llm.c's dev/data/tinystories.py: the archive's first JSON shard (in name
/// order) is validation, the others training; each story is stripped of surrounding whitespace and preceded by the
/// end-of-text token; stories are shuffled within each shard with a seed of 1337 + shard index. The shuffle uses
/// this library's generator, not Python's, so the token order (not the token counts) differs from llm.c's files.
/// </summary>
public static class TinyStories
{
    /// <summary>The public URL of the archive.</summary>
    public const string Url = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories_all_data.tar.gz";

    /// <summary>
    /// Downloads the archive from <see cref="Url"/> into the folder unless <paramref name="archive"/> is given (or a
    /// download is already there), then runs <see cref="Prepare"/>.
    /// </summary>
    /// <param name="directory">Output folder.</param>
    /// <param name="archive">A local copy of <c>TinyStories_all_data.tar.gz</c>, or null to download it.</param>
    /// <param name="progress">Receives download and tokenization progress lines.</param>
    /// <param name="cancellation">Cancels the download.</param>
    /// <returns>Validation and training shard paths.</returns>
    /// <exception cref="FileNotFoundException"><paramref name="archive"/> does not exist.</exception>
    /// <exception cref="DownloadException">The download failed.</exception>
    public static async Task<(string Validation, string Train)> PrepareAsync(string directory, string? archive = null,
        IProgress<ProgressReport>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (archive is null)
        {
            archive = Path.Combine(directory, "TinyStories_all_data.tar.gz");
            if (!File.Exists(archive))
            {
                progress?.Report($"downloading {Url}");
                await Downloader.DownloadAsync(Url, archive, progress, cancellation).ConfigureAwait(false);
            }
        }

        return Prepare(archive, directory, progress is null ? null : line => progress.Report(line));
    }

    /// <summary>Reads the .tar.gz archive and writes <c>TinyStories_val.bin</c> and <c>TinyStories_train.bin</c>.</summary>
    /// <param name="archive">The archive.</param>
    /// <param name="directory">Output folder.</param>
    /// <param name="progress">Receives a line per JSON shard processed.</param>
    /// <returns>Validation and training shard paths.</returns>
    public static (string Validation, string Train) Prepare(string archive, string directory, Action<string>? progress = null)
    {
        if (!File.Exists(archive))
        {
            throw new FileNotFoundException($"TinyStories archive not found: {archive}", archive);
        }

        var shards = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            using var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.Name.EndsWith(".json", StringComparison.Ordinal)
                    && entry.DataStream is { } data)
                {
                    using var copy = new MemoryStream();
                    data.CopyTo(copy);
                    shards[entry.Name] = copy.ToArray();
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw new FileFormatException(archive, $"not a readable .tar.gz archive: {e.Message}");
        }

        if (shards.Count < 2)
        {
            throw new FileFormatException(archive, $"holds {shards.Count} JSON shard(s); TinyStories needs at least 2 (validation and training).");
        }

        var names = shards.Keys.ToArray();
        var tokens = new ushort[names.Length][];
        Parallel.For(0, names.Length, i =>
        {
            tokens[i] = TokenizeShard(shards[names[i]], i, archive, names[i]);
            progress?.Invoke($"  {names[i]}: {tokens[i].Length:N0} tokens");
        });

        string val = Path.Combine(directory, "TinyStories_val.bin");
        string train = Path.Combine(directory, "TinyStories_train.bin");
        TokenShard.Write(val, tokens[0]);
        TokenShard.Write(train, tokens.Skip(1).SelectMany(t => t).ToArray());
        return (val, train);
    }

    private static ushort[] TokenizeShard(byte[] json, int index, string archive, string name)
    {
        List<string> stories;
        try
        {
            using var doc = JsonDocument.Parse(json);
            stories = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("story").GetString() ?? "").ToList();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FileFormatException(archive, $"{name} is not an array of {{\"story\": ...}} objects: {e.Message}");
        }

        var rng = new TorchMersenneTwister((uint)(1337 + index));
        for (int i = stories.Count - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt32() % (uint)(i + 1));
            (stories[i], stories[j]) = (stories[j], stories[i]);
        }

        var tokenizer = Gpt2Tokenizer.Instance;
        var result = new List<ushort>();
        foreach (string story in stories)
        {
            tokenizer.AppendDocument(story.Trim(), result);
        }

        return [.. result];
    }
}
