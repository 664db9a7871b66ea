using System.Buffers.Binary;

namespace Gpt2.Formats;

/// <summary>The 1024-byte header shared by llm.c's files: 256 little-endian int32 values, magic first, version second.</summary>
internal static class FileHeader
{
    public const int Ints = 256;
    public const int Bytes = Ints * sizeof(int);

    /// <summary>
    /// Opens a file of this family for reading. A file shorter than the header is refused before it is opened: FIFOs
    /// and devices report a length of 0, and opening a FIFO would wait for a writer forever.
    /// </summary>
    public static FileStream OpenRead(string path, string kind)
    {
        long length = new FileInfo(path).Length;
        if (length < Bytes)
        {
            throw new FileFormatException(path, $"truncated {kind} header: {length} of {Bytes} bytes" +
                (length == 0 ? " (an empty file, or not a regular file, such as a FIFO or a device)." : "."));
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
    }

    /// <summary>Reads and checks magic and version; returns all 256 values.</summary>
    public static int[] Read(Stream stream, string path, int magic, string kind, params int[] versions)
    {
        Span<byte> bytes = stackalloc byte[Bytes];
        int read = stream.ReadAtLeast(bytes, Bytes, throwOnEndOfStream: false);
        if (read < Bytes)
        {
            throw new FileFormatException(path, $"truncated {kind} header: {read} of {Bytes} bytes.");
        }

        var header = new int[Ints];
        for (int i = 0; i < Ints; i++)
        {
            header[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
        }

        if (header[0] != magic)
        {
            throw new FileFormatException(path, $"not a {kind}: magic is {header[0]}, expected {magic}.");
        }

        if (!versions.Contains(header[1]))
        {
            throw new FileFormatException(path,
                $"unsupported {kind} version {header[1]}; supported: {string.Join(", ", versions)}.");
        }

        return header;
    }

    public static void Write(Stream stream, ReadOnlySpan<int> values)
    {
        Span<byte> bytes = stackalloc byte[Bytes];
        bytes.Clear();
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes[(i * 4)..], values[i]);
        }

        stream.Write(bytes);
    }

    /// <summary>
    /// Called right after <see cref="Read"/>: the bytes from the header's start to the end of the stream must be
    /// <paramref name="expected"/>. A stream that cannot seek is not checked here; reading it detects truncation.
    /// </summary>
    public static void CheckLength(Stream stream, string path, long expected, string what)
    {
        if (!stream.CanSeek)
        {
            return;
        }

        long length = stream.Length - (stream.Position - Bytes);
        if (length != expected)
        {
            string relation = length < expected ? "truncated" : "too long";
            throw new FileFormatException(path, $"{relation}: {length} bytes, but its header describes {what} of {expected} bytes.");
        }
    }

    /// <summary>The name a stream's errors give: its file's path, or "stream".</summary>
    public static string NameOf(Stream stream) => stream is FileStream file ? file.Name : "stream";
}
