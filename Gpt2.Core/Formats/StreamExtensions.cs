using System.Runtime.InteropServices;

namespace Gpt2.Formats;

/// <summary>Little-endian reads and writes of unmanaged arrays (llm.c files are little-endian; so is every platform .NET runs GPT-2 on).</summary>
internal static class StreamExtensions
{
    public static void ReadExactly<T>(this Stream stream, Span<T> destination, string path) where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < bytes.Length)
        {
            throw new FileFormatException(path, $"truncated: ended {bytes.Length - read} bytes early.");
        }
    }

    public static void Write<T>(this Stream stream, ReadOnlySpan<T> source) where T : unmanaged =>
        stream.Write(MemoryMarshal.AsBytes(source));
}
