using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Gpt2.Formats;

namespace Gpt2.HuggingFace;

/// <summary>
/// A safetensors file (Hugging Face's weight format), opened for reading: an 8-byte little-endian header length, a
/// JSON header naming each tensor's dtype, shape and byte range, then the data. The file is treated as untrusted: the
/// header is bounded and must lie inside the file, every entry is validated, and the byte ranges must tile the data
/// section exactly (in order, no gap, no overlap), as the format's reference implementation requires. The data is
/// memory-mapped, so reading a tensor copies only that tensor. Nothing in the file is ever executed.
/// </summary>
/// <remarks>
/// Reads may run on several threads at once; disposing while a read runs is not supported. Data is little-endian, as
/// the format defines and every platform .NET runs on is.
/// </remarks>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>The largest header accepted: 100 MB, far beyond any real model's (GPT-2 XL's is about 60 KB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsTensor> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long dataStart,
        List<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The tensors, in the order of their data.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The open file; dispose it to unmap the data.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">The header is malformed; the message names the tensor at fault.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Safetensors file not found: {path}", path);
        }

        // checked before opening: a FIFO or device reports 0 bytes, and opening a FIFO would wait for a writer forever
        long length = new FileInfo(path).Length;
        if (length < 8)
        {
            throw new FileFormatException(path, $"{length} bytes is too short for a safetensors file (8-byte header length missing; a FIFO or device reads as 0)");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);

        ulong headerBytes = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerBytes > MaxHeaderBytes)
        {
            throw new FileFormatException(path, $"safetensors header length {headerBytes} exceeds the {MaxHeaderBytes}-byte limit");
        }

        if ((long)headerBytes > length - 8)
        {
            throw new FileFormatException(path, $"safetensors header length {headerBytes} runs past the end of the {length}-byte file");
        }

        var header = new byte[(int)headerBytes];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerBytes;
        var (tensors, metadata) = ParseHeader(path, header, length - dataStart);
        stream.Dispose();

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            return new SafetensorsFile(path, map, view, dataStart, tensors, metadata);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Finds a tensor by key.</summary>
    /// <param name="name">The key.</param>
    /// <param name="tensor">The tensor, when present.</param>
    /// <returns>True when the file holds the key.</returns>
    public bool TryGetTensor(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafetensorsTensor tensor) =>
        _byName.TryGetValue(name, out tensor);

    /// <summary>Reads a floating-point tensor (F32, F16, BF16 or F64) as float32, in its row-major order.</summary>
    /// <param name="tensor">A tensor of this file.</param>
    /// <param name="destination">Exactly <see cref="SafetensorsTensor.ElementCount"/> floats.</param>
    /// <exception cref="FileFormatException">The tensor's element type is not a floating-point one.</exception>
    public void ReadSingle(SafetensorsTensor tensor, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(tensor.Name, out var own) || own.DataOffset != tensor.DataOffset || own.ByteCount != tensor.ByteCount
            || own.DataType != tensor.DataType)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' is not one of {Path}'s.", nameof(tensor));
        }

        if (destination.Length != tensor.ElementCount)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.ElementCount} elements; the destination holds {destination.Length}.", nameof(destination));
        }

        long position = _dataStart + tensor.DataOffset;
        int n = destination.Length;
        switch (tensor.DataType)
        {
            case SafetensorsDataType.Float32:
                ReadInto(position, MemoryMarshal.Cast<float, byte>(destination));
                break;
            case SafetensorsDataType.BFloat16:
            {
                var raw = ReadArray<ushort>(position, n);
                BFloat16.ToSingle(raw, destination);
                break;
            }

            case SafetensorsDataType.Float16:
            {
                var raw = ReadArray<ushort>(position, n);
                for (int i = 0; i < n; i++)
                {
                    destination[i] = (float)BitConverter.UInt16BitsToHalf(raw[i]);
                }

                break;
            }

            case SafetensorsDataType.Float64:
            {
                var raw = ReadArray<long>(position, n);
                for (int i = 0; i < n; i++)
                {
                    destination[i] = (float)BitConverter.Int64BitsToDouble(raw[i]);
                }

                break;
            }

            default:
                throw new FileFormatException(Path, $"tensor '{tensor.Name}' is {tensor.DataType.FormatName()}, not a floating-point type (F32, F16, BF16 or F64)");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _view.Dispose();
            _map.Dispose();
        }
    }

    private void ReadInto(long position, Span<byte> destination)
    {
        // in pieces: ReadArray takes an int count and one piece stays in cache
        const int Piece = 1 << 24;
        var array = new byte[Math.Min(Piece, destination.Length)];
        for (int done = 0; done < destination.Length; done += array.Length)
        {
            int count = Math.Min(array.Length, destination.Length - done);
            _view.ReadArray(position + done, array, 0, count);
            array.AsSpan(0, count).CopyTo(destination[done..]);
        }
    }

    private T[] ReadArray<T>(long position, int count)
        where T : struct
    {
        var array = new T[count];
        _view.ReadArray(position, array, 0, count);
        return array;
    }

    private static (List<SafetensorsTensor>, IReadOnlyDictionary<string, string>) ParseHeader(string path, byte[] header, long dataBytes)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<SafetensorsTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            // strict UTF-8 first: JsonDocument would replace invalid sequences silently
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(header);
            using var json = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FileFormatException(path, "the safetensors header is not a JSON object");
            }

            foreach (var entry in json.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name))
                {
                    throw new FileFormatException(path, $"the safetensors header names '{entry.Name}' twice");
                }

                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new FileFormatException(path, "the safetensors __metadata__ is not an object of strings");
                    }

                    foreach (var m in entry.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                            ? m.Value.GetString()!
                            : throw new FileFormatException(path, $"the safetensors __metadata__ value '{m.Name}' is not a string");
                    }

                    continue;
                }

                tensors.Add(ParseTensor(path, entry));
            }
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            throw new FileFormatException(path, $"the safetensors header is not valid JSON: {e.Message}");
        }

        // the byte ranges must tile the data section: sorted by start, each starting where the previous ended
        tensors.Sort((a, b) => a.DataOffset != b.DataOffset ? a.DataOffset.CompareTo(b.DataOffset) : a.ByteCount.CompareTo(b.ByteCount));
        long end = 0;
        foreach (var t in tensors)
        {
            if (t.DataOffset != end)
            {
                throw new FileFormatException(path, t.DataOffset < end
                    ? $"tensor '{t.Name}' (bytes {t.DataOffset}..{t.DataOffset + t.ByteCount}) overlaps the tensor before it, which ends at {end}"
                    : $"tensor '{t.Name}' starts at byte {t.DataOffset}, leaving a gap after byte {end}");
            }

            end += t.ByteCount;
            if (end > dataBytes)
            {
                throw new FileFormatException(path, $"tensor '{t.Name}' ends at byte {end}, past the {dataBytes}-byte data section (truncated file?)");
            }
        }

        if (end != dataBytes)
        {
            throw new FileFormatException(path, $"the tensors cover {end} bytes but the data section has {dataBytes}");
        }

        return (tensors, metadata);
    }

    private static SafetensorsTensor ParseTensor(string path, JsonProperty entry)
    {
        string name = entry.Name;
        FileFormatException Bad(string problem) => new(path, $"tensor '{name}': {problem}");
        var v = entry.Value;
        if (v.ValueKind != JsonValueKind.Object)
        {
            throw Bad("its entry is not an object");
        }

        if (!v.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
        {
            throw Bad("no dtype string");
        }

        if (!SafetensorsDataTypes.TryParse(dtype.GetString(), out var type))
        {
            throw Bad($"unknown dtype '{dtype.GetString()}'");
        }

        if (!v.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
        {
            throw Bad("no shape array");
        }

        var shape = new List<long>();
        long elements = 1;
        foreach (var d in shapeJson.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
            {
                throw Bad($"shape {shapeJson.GetRawText()} is not a list of non-negative integers");
            }

            shape.Add(dim);
            elements = dim == 0 || elements == 0 ? 0 : elements <= long.MaxValue / dim ? elements * dim : throw Bad($"shape {shapeJson.GetRawText()} overflows");
        }

        if (!v.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw Bad("data_offsets is not [begin, end] with 0 <= begin <= end");
        }

        if (elements > long.MaxValue / type.Size() || elements * type.Size() != end - begin)
        {
            throw Bad($"shape {shapeJson.GetRawText()} of {type.FormatName()} needs {(elements <= long.MaxValue / 8 ? elements * type.Size() : long.MaxValue)} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        }

        foreach (var p in v.EnumerateObject())
        {
            if (p.Name is not ("dtype" or "shape" or "data_offsets"))
            {
                throw Bad($"unknown field '{p.Name}'");
            }
        }

        return new SafetensorsTensor(name, type, shape, begin, end - begin);
    }
}
