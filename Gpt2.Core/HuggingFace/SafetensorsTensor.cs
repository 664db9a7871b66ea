namespace Gpt2.HuggingFace;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's key, for example <c>h.0.attn.c_attn.weight</c>.</param>
/// <param name="DataType">Its element type.</param>
/// <param name="Shape">Its dimensions, row-major (empty for a scalar).</param>
/// <param name="DataOffset">First byte, relative to the start of the data section.</param>
/// <param name="ByteCount">Bytes it occupies: the product of <paramref name="Shape"/> times the element size.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record SafetensorsTensor(string Name, SafetensorsDataType DataType, IReadOnlyList<long> Shape, long DataOffset, long ByteCount)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => ByteCount / DataType.Size();

    /// <summary>The shape as <c>(a, b)</c>.</summary>
    public string ShapeText => $"({string.Join(", ", Shape)})";
}
