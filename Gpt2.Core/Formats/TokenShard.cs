using Gpt2.IO;

namespace Gpt2.Formats;

/// <summary>
/// llm.c's token shard: a 1024-byte header (magic 20240520, version 1, token count) followed by
/// that many uint16 GPT-2 token ids.
/// </summary>
public static class TokenShard
{
    /// <summary>The header magic number.</summary>
    public const int Magic = 20240520;

    /// <summary>The only supported version.</summary>
    public const int Version = 1;

    /// <summary>Reads and validates a shard's header and length.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The number of tokens.</returns>
    public static long ReadTokenCount(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads a whole shard.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The tokens.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">Wrong magic or version, or a length that does not match the header.</exception>
    public static ushort[] Read(string path)
    {
        using var stream = OpenRead(path);
        long count = ReadHeader(stream, path);
        var tokens = new ushort[count];
        stream.ReadExactly<ushort>(tokens, path);
        return tokens;
    }

    /// <summary>Reads a whole shard from a stream, from its position.</summary>
    /// <param name="stream">The stream, left open; when it can seek, the bytes from its position to its end must be exactly one shard.</param>
    /// <returns>The tokens.</returns>
    /// <exception cref="FileFormatException">Wrong magic or version, a length that does not match the header, or a stream that ends early.</exception>
    public static ushort[] Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string name = FileHeader.NameOf(stream);
        long count = ReadHeader(stream, name);
        if (stream.CanSeek)
        {
            var tokens = new ushort[count]; // the length was checked against the header
            stream.ReadExactly<ushort>(tokens, name);
            return tokens;
        }

        // a forward-only stream proves its length only by being read: grow as it delivers, never trusting the header alone
        var read = new List<ushort[]>();
        for (long done = 0; done < count;)
        {
            var chunk = new ushort[Math.Min(1 << 20, count - done)];
            stream.ReadExactly<ushort>(chunk, name);
            read.Add(chunk);
            done += chunk.Length;
        }

        return read.Count == 1 ? read[0] : [.. read.SelectMany(c => c)];
    }

    /// <summary>Writes a shard to a stream, at its position; the caller owns the stream.</summary>
    /// <param name="stream">The stream, left open.</param>
    /// <param name="tokens">The tokens.</param>
    public static void Write(Stream stream, ReadOnlySpan<ushort> tokens)
    {
        ArgumentNullException.ThrowIfNull(stream);
        FileHeader.Write(stream, [Magic, Version, tokens.Length]);
        stream.Write(tokens);
    }

    /// <summary>Writes a shard atomically.</summary>
    /// <param name="path">The file.</param>
    /// <param name="tokens">The tokens.</param>
    public static void Write(string path, ReadOnlySpan<ushort> tokens)
    {
        var copy = tokens.ToArray();
        AtomicFile.Write(path, stream => Write(stream, copy));
    }

    /// <summary>Opens a shard with its stream at the first token, after checking its header and length.</summary>
    internal static FileStream OpenAfterHeader(string path, out long count)
    {
        var stream = OpenRead(path);
        try
        {
            count = ReadHeader(stream, path);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Token shard not found: {path}", path);
        }

        return FileHeader.OpenRead(path, "llm.c token shard");
    }

    private static long ReadHeader(Stream stream, string path)
    {
        int[] h = FileHeader.Read(stream, path, Magic, "llm.c token shard", Version);
        if (h[2] < 0)
        {
            throw new FileFormatException(path, $"negative token count {h[2]}.");
        }

        FileHeader.CheckLength(stream, path, FileHeader.Bytes + (long)h[2] * sizeof(ushort), $"{h[2]} tokens");
        return h[2];
    }
}
