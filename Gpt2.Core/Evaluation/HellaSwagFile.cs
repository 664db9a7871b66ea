using System.Text.Json;
using Gpt2.Formats;
using Gpt2.IO;
using Gpt2.Text;

namespace Gpt2.Evaluation;

/// <summary>
/// HellaSwag's data: the dataset's jsonl (one example per line: <c>ctx</c>, <c>endings</c>, <c>label</c>) and llm.c's
/// eval file (<c>hellaswag_val.bin</c>, as dev/data/data_common.py's write_evalfile writes it): a 1024-byte header
/// (magic 20240522, version 1, example count, longest example in bytes), then per example a stream of uint16: 65535,
/// the example's bytes, its index, its label, the number of endings, the context's length and tokens, and each
/// ending's length and tokens.
/// </summary>
public static class HellaSwagFile
{
    /// <summary>The eval file's magic number.</summary>
    public const int Magic = 20240522;

    /// <summary>The eval file's version.</summary>
    public const int Version = 1;

    /// <summary>The validation split's public URL (rowanz/hellaswag).</summary>
    public const string ValidationUrl = "https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_val.jsonl";

    private const ushort Delimiter = ushort.MaxValue;

    /// <summary>Reads and tokenizes a HellaSwag jsonl file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The examples, in file order (their index is the line's position).</returns>
    /// <exception cref="FileFormatException">A line is not a HellaSwag example; the message names the line.</exception>
    public static IReadOnlyList<HellaSwagExample> ReadJsonl(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"HellaSwag jsonl not found: {path}", path);
        }

        if (new FileInfo(path).Length == 0)
        {
            throw new FileFormatException(path, "empty, or not a regular file (a FIFO or a device).");
        }

        var tokenizer = Gpt2Tokenizer.Instance;
        var examples = new List<HellaSwagExample>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                string ctx = root.GetProperty("ctx").GetString() ?? throw new FormatException("ctx is null");
                int label = root.GetProperty("label").GetInt32();
                var endings = root.GetProperty("endings").EnumerateArray().Select(e => e.GetString() ?? throw new FormatException("an ending is null")).ToList();
                if (endings.Count != 4 || label is < 0 or > 3)
                {
                    throw new FormatException($"{endings.Count} endings and label {label}; expected 4 endings and a label 0-3");
                }

                examples.Add(new HellaSwagExample(examples.Count, label, tokenizer.Encode(ctx).ToArray(),
                    endings.Select(e => (IReadOnlyList<int>)tokenizer.Encode(" " + e).ToArray()).ToArray()));
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                throw new FileFormatException(path, $"line {lineNumber} is not a HellaSwag example: {e.Message}");
            }
        }

        return examples;
    }

    /// <summary>Writes llm.c's eval file atomically, byte for byte as write_evalfile.</summary>
    /// <param name="path">The file.</param>
    /// <param name="examples">The examples (fewer than 65,536, each under 64 KB, as llm.c requires).</param>
    public static void Write(string path, IReadOnlyList<HellaSwagExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count >= ushort.MaxValue)
        {
            throw new ArgumentException($"{examples.Count} examples; the format holds fewer than 65,536.", nameof(examples));
        }

        var stream = new List<ushort>();
        int longest = 0;
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            int start = stream.Count;
            stream.AddRange([Delimiter, 0, (ushort)i, (ushort)e.Label, (ushort)e.Endings.Count, (ushort)e.Context.Count]);
            stream.AddRange(e.Context.Select(ToToken));
            foreach (var ending in e.Endings)
            {
                stream.Add((ushort)ending.Count);
                stream.AddRange(ending.Select(ToToken));
            }

            int bytes = (stream.Count - start) * 2;
            if (bytes >= 1 << 16)
            {
                throw new ArgumentException($"Example {i} takes {bytes} bytes; the format holds under 65,536.", nameof(examples));
            }

            stream[start + 1] = (ushort)bytes;
            longest = Math.Max(longest, bytes);
        }

        var data = stream.ToArray();
        AtomicFile.Write(path, s =>
        {
            FileHeader.Write(s, [Magic, Version, examples.Count, longest]);
            s.Write<ushort>(data);
        });
    }

    /// <summary>Reads llm.c's eval file, checking every field.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The examples.</returns>
    /// <exception cref="FileFormatException">The file is malformed; the message names the example.</exception>
    public static IReadOnlyList<HellaSwagExample> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"HellaSwag eval file not found: {path}", path);
        }

        using var file = FileHeader.OpenRead(path, "llm.c eval file");
        int[] h = FileHeader.Read(file, path, Magic, "llm.c eval file", Version);
        long bytes = file.Length - FileHeader.Bytes;
        if (bytes % 2 != 0 || bytes > int.MaxValue)
        {
            throw new FileFormatException(path, $"{bytes} bytes after the header is not a stream of uint16.");
        }

        var data = new ushort[bytes / 2];
        file.ReadExactly<ushort>(data, path);
        var examples = new List<HellaSwagExample>(Math.Max(0, h[2]));
        int at = 0;
        for (int i = 0; i < h[2]; i++)
        {
            FileFormatException Bad(string problem) => new(path, $"example {i}: {problem}");
            ushort Next() => at < data.Length ? data[at++] : throw Bad("the file ends inside it (truncated)");
            int start = at;
            if (Next() != Delimiter)
            {
                throw Bad("no 65535 delimiter where it should start");
            }

            int exampleBytes = Next(), index = Next(), label = Next(), count = Next();
            int[] Tokens() => Enumerable.Range(0, Next()).Select(_ => (int)Next()).ToArray();
            var context = Tokens();
            var endings = Enumerable.Range(0, count).Select(_ => (IReadOnlyList<int>)Tokens()).ToArray();
            if ((at - start) * 2 != exampleBytes || index != i || label >= count || count == 0)
            {
                throw Bad($"inconsistent fields (bytes {exampleBytes} for {(at - start) * 2}, index {index}, label {label} of {count} endings)");
            }

            examples.Add(new HellaSwagExample(index, label, context, endings));
        }

        if (at != data.Length)
        {
            throw new FileFormatException(path, $"{(data.Length - at) * 2} bytes follow the {h[2]} examples the header announces.");
        }

        return examples;
    }

    /// <summary>Reads either form: llm.c's eval file (by its magic) or the dataset's jsonl.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The examples.</returns>
    public static IReadOnlyList<HellaSwagExample> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path) && new FileInfo(path).Length >= 4)
        {
            using var f = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            f.ReadExactly(magic);
            if (System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(magic) == Magic)
            {
                f.Dispose();
                return Read(path);
            }
        }

        return ReadJsonl(path);
    }

    /// <summary>
    /// Writes <c>hellaswag_val.bin</c> into a folder from <paramref name="jsonl"/>, or from the validation split
    /// downloaded from <see cref="ValidationUrl"/> once and kept beside it as <c>hellaswag_val.jsonl</c>.
    /// </summary>
    /// <param name="directory">Folder for the eval file (created when missing).</param>
    /// <param name="jsonl">A local copy of the jsonl, or null to download it.</param>
    /// <param name="progress">Receives download progress lines.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The eval file's path and the examples written.</returns>
    /// <exception cref="DownloadException">The download failed.</exception>
    public static async Task<(string Path, int Examples)> PrepareAsync(string directory, string? jsonl = null, IProgress<ProgressReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (jsonl is null)
        {
            jsonl = System.IO.Path.Combine(directory, "hellaswag_val.jsonl");
            if (!File.Exists(jsonl))
            {
                progress?.Report($"downloading {ValidationUrl}");
                await Downloader.DownloadAsync(ValidationUrl, jsonl, progress, cancellationToken).ConfigureAwait(false);
            }
        }

        var examples = ReadJsonl(jsonl);
        string path = System.IO.Path.Combine(directory, "hellaswag_val.bin");
        Write(path, examples);
        return (path, examples.Count);
    }

    private static ushort ToToken(int t) =>
        t is >= 0 and < Delimiter ? (ushort)t : throw new ArgumentOutOfRangeException(nameof(t), t, "A token must be below 65535.");
}
