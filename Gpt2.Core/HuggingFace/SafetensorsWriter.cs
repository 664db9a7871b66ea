using System.Buffers.Binary;
using System.Text.Json;
using Gpt2.IO;

namespace Gpt2.HuggingFace;

/// <summary>
/// Writes a safetensors file atomically: the header from the declared tensors (their data in declaration order,
/// padded with spaces to 8 bytes as the reference implementation pads it), then each tensor's bytes from a callback.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>A tensor to write: key, element type and row-major shape.</summary>
    public sealed record Entry(string Name, SafetensorsDataType DataType, long[] Shape)
    {
        public long ByteCount => Shape.Aggregate(1L, (a, d) => a * d) * DataType.Size();
    }

    /// <summary>Writes the file; <paramref name="writeTensor"/> must write exactly each entry's bytes.</summary>
    public static void Write(string path, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string> metadata, Action<int, Stream> writeTensor)
    {
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata)
            {
                json.WriteString(k, v);
            }

            json.WriteEndObject();
            long offset = 0;
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DataType.FormatName());
                json.WriteStartArray("shape");
                foreach (long d in e.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.ByteCount);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.ByteCount;
            }

            json.WriteEndObject();
        }

        while (header.Length % 8 != 0)
        {
            header.WriteByte((byte)' ');
        }

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            header.Position = 0;
            header.CopyTo(stream);
            for (int i = 0; i < entries.Count; i++)
            {
                long before = stream.Position;
                writeTensor(i, stream);
                if (stream.Position - before != entries[i].ByteCount)
                {
                    throw new InvalidOperationException(
                        $"Tensor '{entries[i].Name}' wrote {stream.Position - before} bytes, expected {entries[i].ByteCount}.");
                }
            }
        });
    }
}
