using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gpt2.IO;
using Gpt2.Text;
using Parquet;
using Parquet.Serialization;

namespace Gpt2.Data;

/// <summary>
/// FineWeb and FineWeb-Edu into llm.c token shards exactly as llm.c's dev/data/fineweb.py writes them: each document
/// is <c>&lt;|endoftext|&gt;</c> followed by its tokens (tiktoken's encode_ordinary), shards of a fixed number of tokens
/// with a document that crosses a boundary split across the two, the first shard the validation shard, named
/// <c>fineweb_val_000000.bin</c>, <c>fineweb_train_000001.bin</c>, … (<c>edu_fineweb_…</c> for FineWeb-Edu). The
/// parquet files are read one row group at a time and tokenized on every core, so memory stays flat.
/// </summary>
public static class FineWeb
{
    /// <summary>llm.c's shard size: 100M tokens.</summary>
    public const int DefaultShardTokens = 100_000_000;

    /// <summary>The hub's dataset repository.</summary>
    /// <param name="edu">FineWeb-Edu instead of FineWeb.</param>
    /// <returns><c>HuggingFaceFW/fineweb</c> or <c>HuggingFaceFW/fineweb-edu</c>.</returns>
    public static string Repository(bool edu) => edu ? "HuggingFaceFW/fineweb-edu" : "HuggingFaceFW/fineweb";

    /// <summary>The shard file name prefix: <c>fineweb</c> or <c>edu_fineweb</c>.</summary>
    /// <param name="edu">FineWeb-Edu instead of FineWeb.</param>
    /// <returns>The prefix.</returns>
    public static string Prefix(bool edu) => edu ? "edu_fineweb" : "fineweb";

    /// <summary>Tokenizes parquet files (their <c>text</c> column, in the order given) into shards.</summary>
    /// <param name="parquetFiles">The files, in order; each is opened only when the previous is done (so it may be fetched lazily).</param>
    /// <param name="directory">Folder for the shards (created when missing).</param>
    /// <param name="edu">Name the shards <c>edu_fineweb_…</c>.</param>
    /// <param name="shardTokens">Tokens per shard.</param>
    /// <param name="maxShards">Stop after this many shards; null for all.</param>
    /// <param name="progress">Receives one line per row group: tokens, tokens/s, shards.</param>
    /// <param name="cancellationToken">Cancels between row groups.</param>
    /// <returns>The shards written, validation first.</returns>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="Formats.FileFormatException">A file is not parquet or has no <c>text</c> column.</exception>
    public static async Task<IReadOnlyList<string>> PrepareAsync(IAsyncEnumerable<string> parquetFiles, string directory, bool edu = false,
        int shardTokens = DefaultShardTokens, int? maxShards = null, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parquetFiles);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shardTokens);
        Directory.CreateDirectory(directory);
        string prefix = Prefix(edu);
        var writer = new TokenShardWriter(i => Path.Combine(directory, $"{prefix}_{(i == 0 ? "val" : "train")}_{i:D6}.bin"), shardTokens, shardTokens, maxShards);
        var clock = Stopwatch.StartNew();
        await foreach (string file in parquetFiles.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            await AppendFileAsync(file, writer, progress, clock, cancellationToken).ConfigureAwait(false);
            if (writer.IsFull)
            {
                break;
            }
        }

        writer.Finish();
        return writer.Written;
    }

    /// <summary>Tokenizes local parquet files into shards (see <see cref="PrepareAsync(IAsyncEnumerable{string}, string, bool, int, int?, IProgress{ProgressReport}?, CancellationToken)"/>).</summary>
    /// <param name="parquetFiles">The files, in order.</param>
    /// <param name="directory">Folder for the shards.</param>
    /// <param name="edu">Name the shards <c>edu_fineweb_…</c>.</param>
    /// <param name="shardTokens">Tokens per shard.</param>
    /// <param name="maxShards">Stop after this many shards; null for all.</param>
    /// <param name="progress">Receives progress lines.</param>
    /// <param name="cancellationToken">Cancels between row groups.</param>
    /// <returns>The shards written, validation first.</returns>
    public static Task<IReadOnlyList<string>> PrepareAsync(IEnumerable<string> parquetFiles, string directory, bool edu = false,
        int shardTokens = DefaultShardTokens, int? maxShards = null, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default) =>
        PrepareAsync(ToAsync(parquetFiles), directory, edu, shardTokens, maxShards, progress, cancellationToken);

    /// <summary>
    /// The parquet files of a sample on the hub (<c>sample/10BT/*.parquet</c>, in name order), each downloaded into
    /// <paramref name="cacheDirectory"/> when first enumerated (resumed, retried, checked; kept for the next run).
    /// </summary>
    /// <param name="edu">FineWeb-Edu instead of FineWeb.</param>
    /// <param name="sample"><c>10BT</c>, <c>100BT</c> or <c>350BT</c>.</param>
    /// <param name="cacheDirectory">Where the parquet files are kept.</param>
    /// <param name="endpoint">The hub; default https://huggingface.co.</param>
    /// <param name="progress">Receives download progress lines.</param>
    /// <param name="cancellationToken">Cancels the downloads.</param>
    /// <returns>The local paths, as each file is ready.</returns>
    /// <exception cref="DownloadException">The hub could not be reached or sent something else than it announced.</exception>
    public static async IAsyncEnumerable<string> DownloadAsync(bool edu, string sample, string cacheDirectory, Uri? endpoint = null,
        IProgress<ProgressReport>? progress = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sample);
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        var hub = endpoint ?? HuggingFace.PretrainedGpt2.DefaultEndpoint;
        string repository = Repository(edu), folder = $"sample/{sample}";
        string listing = new Uri(hub, $"api/datasets/{repository}/tree/main/{folder}").AbsoluteUri;
        List<string> files;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            using var json = JsonDocument.Parse(await http.GetStringAsync(listing, cancellationToken).ConfigureAwait(false));
            files = json.RootElement.EnumerateArray()
                .Where(e => e.GetProperty("type").GetString() == "file")
                .Select(e => e.GetProperty("path").GetString()!)
                .Where(p => p.EndsWith(".parquet", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException
            && !cancellationToken.IsCancellationRequested)
        {
            throw new DownloadException(listing, e);
        }

        if (files.Count == 0)
        {
            throw new DownloadException(listing, new IOException($"no parquet files under {folder}"));
        }

        foreach (string file in files)
        {
            string local = Path.Combine(cacheDirectory, repository.Replace('/', Path.DirectorySeparatorChar), file.Replace('/', Path.DirectorySeparatorChar));
            if (!File.Exists(local))
            {
                string url = new Uri(hub, $"datasets/{repository}/resolve/main/{file}").AbsoluteUri;
                progress?.Report($"downloading {url}");
                await Downloader.DownloadAsync(url, local, progress, cancellationToken).ConfigureAwait(false);
            }

            yield return local;
        }
    }

    private static async Task AppendFileAsync(string file, TokenShardWriter writer, IProgress<ProgressReport>? progress, Stopwatch clock, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"Parquet file not found: {file}", file);
        }

        await using var stream = File.OpenRead(file);
        int groups;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            groups = reader.RowGroupCount;
            if (!reader.Schema.GetDataFields().Any(f => f.Name == "text"))
            {
                throw new Formats.FileFormatException(file, "no 'text' column; FineWeb's parquet files have one");
            }
        }
        catch (Exception e) when (e is not Formats.FileFormatException and not OperationCanceledException and (IOException or InvalidDataException or InvalidOperationException or NotSupportedException))
        {
            throw new Formats.FileFormatException(file, $"not a parquet file: {e.Message}");
        }

        var tokenizer = Gpt2Tokenizer.Instance;
        for (int g = 0; g < groups && !writer.IsFull; g++)
        {
            stream.Position = 0;
            var rows = (await ParquetSerializer.DeserializeAsync<Row>(stream, rowGroupIndex: g, cancellationToken: cancellationToken).ConfigureAwait(false)).Data;
            var documents = new ushort[rows.Count][];
            Parallel.For(0, rows.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                var ids = tokenizer.EncodeOrdinary(rows[i].Text ?? "");
                var doc = new ushort[ids.Count + 1];
                doc[0] = Gpt2Tokenizer.EndOfText; // every document starts with <|endoftext|>
                for (int t = 0; t < ids.Count; t++)
                {
                    doc[t + 1] = (ushort)ids[t];
                }

                documents[i] = doc;
            });
            foreach (var doc in documents)
            {
                writer.Append(doc);
            }

            double rate = writer.Tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            progress?.Report(new ProgressReport(string.Create(CultureInfo.InvariantCulture,
                $"  {Path.GetFileName(file)} row group {g + 1}/{groups}: {writer.Tokens:N0} tokens, {rate:N0} tokens/s, {writer.Written.Count} shard(s) written"),
                "tokenizing", writer.Tokens, null, "tokens"));
        }
    }

    private static async IAsyncEnumerable<string> ToAsync(IEnumerable<string> files)
    {
        foreach (string f in files)
        {
            yield return f;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>The one column used.</summary>
    private sealed class Row
    {
        [System.Text.Json.Serialization.JsonPropertyName("text")]
        public string? Text { get; set; }
    }
}
