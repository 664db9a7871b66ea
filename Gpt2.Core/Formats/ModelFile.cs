using Gpt2.IO;
using Gpt2.Model;

namespace Gpt2.Formats;

/// <summary>
/// llm.c's model checkpoint: a 1024-byte header (magic 20240326, version 3 or 5, maxT, V, L, NH, C, Vp)
/// followed by every parameter in <see cref="ParameterLayout"/> order.
/// </summary>
public static class ModelFile
{
    /// <summary>The header magic number.</summary>
    public const int Magic = 20240326;

    private const int ChunkElements = 1 << 20;

    /// <summary>Reads and validates a model file's header and length, without reading the parameters.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The model's shape and storage format.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">Wrong magic or version, a nonsense header, or the wrong length.</exception>
    public static (Gpt2Config Config, ModelFileFormat Format) ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads a whole model file into host memory, widening bf16 to float32.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The model's shape, storage format and parameters.</returns>
    public static (Gpt2Config Config, ModelFileFormat Format, float[] Parameters) Read(string path)
    {
        using var stream = OpenRead(path);
        return ReadAll(stream, path);
    }

    /// <summary>Reads a model file, handing the parameters to <paramref name="sink"/> in order, in chunks.</summary>
    /// <param name="path">The file.</param>
    /// <param name="sink">Receives each chunk and the index of its first parameter.</param>
    /// <returns>The model's shape and storage format.</returns>
    public static (Gpt2Config Config, ModelFileFormat Format) Read(string path, Action<long, ReadOnlySpan<float>> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        using var stream = OpenRead(path);
        return ReadInto(stream, path, sink);
    }

    /// <summary>Reads a whole model from a stream (from its position), widening bf16 to float32.</summary>
    /// <param name="stream">The stream; left open. When it can seek, the bytes from its position to its end must be exactly one model.</param>
    /// <returns>The model's shape, storage format and parameters.</returns>
    /// <exception cref="FileFormatException">Wrong magic or version, a nonsense header, or the wrong length.</exception>
    public static (Gpt2Config Config, ModelFileFormat Format, float[] Parameters) Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadAll(stream, FileHeader.NameOf(stream));
    }

    /// <summary>Reads a model from a stream (from its position), handing the parameters to <paramref name="sink"/> in order, in chunks.</summary>
    /// <param name="stream">The stream; left open. When it can seek, the bytes from its position to its end must be exactly one model.</param>
    /// <param name="sink">Receives each chunk and the index of its first parameter.</param>
    /// <returns>The model's shape and storage format.</returns>
    /// <exception cref="FileFormatException">Wrong magic or version, a nonsense header, the wrong length, or a stream that ends early.</exception>
    public static (Gpt2Config Config, ModelFileFormat Format) Read(Stream stream, Action<long, ReadOnlySpan<float>> sink)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sink);
        return ReadInto(stream, FileHeader.NameOf(stream), sink);
    }

    /// <summary>Writes a model to a stream (at its position), not atomically: the caller owns the stream.</summary>
    /// <param name="stream">The stream; left open.</param>
    /// <param name="config">The model's shape.</param>
    /// <param name="format">float32 (version 3) or bf16 (version 5, rounded to nearest even).</param>
    /// <param name="source">Fills each chunk with the parameters starting at the given index.</param>
    public static void Write(Stream stream, Gpt2Config config, ModelFileFormat format, Action<long, Span<float>> source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(source);
        WriteTo(stream, config, format, source);
    }

    /// <summary>Writes a model file atomically.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">The model's shape.</param>
    /// <param name="format">float32 (version 3) or bf16 (version 5, rounded to nearest even).</param>
    /// <param name="source">Fills each chunk with the parameters starting at the given index.</param>
    public static void Write(string path, Gpt2Config config, ModelFileFormat format, Action<long, Span<float>> source) =>
        WriteHashed(path, config, format, source);

    /// <summary>Writes a model file atomically and returns the SHA-256 of its bytes (lowercase hex).</summary>
    internal static string WriteHashed(string path, Gpt2Config config, ModelFileFormat format, Action<long, Span<float>> source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(source);
        string sha256 = "";
        AtomicFile.Write(path, file =>
        {
            using var stream = new HashingStream(file);
            WriteTo(stream, config, format, source);
            sha256 = stream.Sha256();
        });
        return sha256;
    }

    private static void WriteTo(Stream stream, Gpt2Config config, ModelFileFormat format, Action<long, Span<float>> source)
    {
        if (format is not (ModelFileFormat.Float32 or ModelFileFormat.BFloat16))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "A model file is fp32 (version 3) or bf16 (version 5).");
        }

        long count = new ParameterLayout(config).Count;
        {
            int[] header = new int[FileHeader.Ints];
            header[0] = Magic;
            header[1] = (int)format;
            header[2] = config.MaxSequenceLength;
            header[3] = config.VocabularySize;
            header[4] = config.LayerCount;
            header[5] = config.HeadCount;
            header[6] = config.ChannelCount;
            header[7] = config.PaddedVocabularySize;
            FileHeader.Write(stream, header);
            var chunk = new float[(int)Math.Min(ChunkElements, count)];
            var narrow = format == ModelFileFormat.BFloat16 ? new ushort[chunk.Length] : null;
            for (long offset = 0; offset < count; offset += chunk.Length)
            {
                var span = chunk.AsSpan(0, (int)Math.Min(chunk.Length, count - offset));
                source(offset, span);
                if (narrow is null)
                {
                    stream.Write<float>(span);
                }
                else
                {
                    var n = narrow.AsSpan(0, span.Length);
                    BFloat16.FromSingle(span, n);
                    stream.Write<ushort>(n);
                }
            }
        }
    }

    /// <summary>Writes a model file atomically from host memory.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">The model's shape.</param>
    /// <param name="format">Storage format.</param>
    /// <param name="parameters">All parameters in layout order.</param>
    public static void Write(string path, Gpt2Config config, ModelFileFormat format, float[] parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        long count = new ParameterLayout(config).Count;
        if (parameters.LongLength != count)
        {
            throw new ArgumentException($"Expected {count} parameters for this configuration, got {parameters.LongLength}.", nameof(parameters));
        }

        Write(path, config, format, (offset, chunk) => parameters.AsSpan((int)offset, chunk.Length).CopyTo(chunk));
    }

    private static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file not found: {path}", path);
        }

        return FileHeader.OpenRead(path, "llm.c model file");
    }

    /// <summary>Header and every parameter into one array; errors name <paramref name="name"/>.</summary>
    private static (Gpt2Config Config, ModelFileFormat Format, float[] Parameters) ReadAll(Stream stream, string name)
    {
        var (config, format) = ReadHeader(stream, name);
        var parameters = new float[checked((int)new ParameterLayout(config).Count)];
        ReadParameters(stream, name, format, parameters.LongLength, (offset, chunk) => chunk.CopyTo(parameters.AsSpan((int)offset)));
        return (config, format, parameters);
    }

    /// <summary>Header, then the parameters handed to <paramref name="sink"/> in chunks; errors name <paramref name="name"/>.</summary>
    private static (Gpt2Config Config, ModelFileFormat Format) ReadInto(Stream stream, string name, Action<long, ReadOnlySpan<float>> sink)
    {
        var (config, format) = ReadHeader(stream, name);
        ReadParameters(stream, name, format, new ParameterLayout(config).Count, sink);
        return (config, format);
    }

    internal static (Gpt2Config, ModelFileFormat) ReadHeader(Stream stream, string path)
    {
        int[] h = FileHeader.Read(stream, path, Magic, "llm.c model file", (int)ModelFileFormat.Float32, (int)ModelFileFormat.BFloat16);
        var format = (ModelFileFormat)h[1];
        Gpt2Config config;
        try
        {
            config = new Gpt2Config(maxSequenceLength: h[2], vocabularySize: h[3], paddedVocabularySize: h[7],
                layerCount: h[4], headCount: h[5], channelCount: h[6]);
        }
        catch (ArgumentException e)
        {
            throw new FileFormatException(path,
                $"invalid model header (maxT={h[2]}, V={h[3]}, L={h[4]}, NH={h[5]}, C={h[6]}, Vp={h[7]}): {e.Message}");
        }

        long bytesPer = format == ModelFileFormat.Float32 ? sizeof(float) : sizeof(ushort);
        long count = new ParameterLayout(config).Count;
        FileHeader.CheckLength(stream, path, FileHeader.Bytes + count * bytesPer,
            $"{count} {(format == ModelFileFormat.Float32 ? "fp32" : "bf16")} parameters");
        return (config, format);
    }

    internal static void ReadParameters(Stream stream, string path, ModelFileFormat format, long count, Action<long, ReadOnlySpan<float>> sink)
    {
        var chunk = new float[(int)Math.Min(ChunkElements, count)];
        var wide = format == ModelFileFormat.BFloat16 ? new ushort[chunk.Length] : null;
        for (long offset = 0; offset < count; offset += chunk.Length)
        {
            var span = chunk.AsSpan(0, (int)Math.Min(chunk.Length, count - offset));
            ReadNext(stream, path, format, span, wide);
            sink(offset, span);
        }
    }

    /// <summary>Opens a model file with its stream at the first parameter, for callers that pull parameters in order.</summary>
    internal static (FileStream Stream, Gpt2Config Config, ModelFileFormat Format) OpenParameters(string path)
    {
        var stream = OpenRead(path);
        try
        {
            var (config, format) = ReadHeader(stream, path);
            return (stream, config, format);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next <c>destination.Length</c> parameters, widening bf16 through <paramref name="wide"/> (allocated when null).</summary>
    internal static void ReadNext(Stream stream, string path, ModelFileFormat format, Span<float> destination, ushort[]? wide = null)
    {
        if (format == ModelFileFormat.Float32)
        {
            stream.ReadExactly(destination, path);
            return;
        }

        wide ??= new ushort[Math.Min(destination.Length, ChunkElements)];
        for (int done = 0; done < destination.Length; done += wide.Length)
        {
            var w = wide.AsSpan(0, Math.Min(wide.Length, destination.Length - done));
            stream.ReadExactly(w, path);
            BFloat16.ToSingle(w, destination.Slice(done, w.Length));
        }
    }
}
