using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The rows of GPT-2's parameter table (see <see cref="ParameterTable{T}"/>): name, offset, shape and element type of
/// each tensor in one flat buffer. The same layout describes the gradients and AdamW's moments.
/// </summary>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed class ParameterLayout : ParameterTable<ParameterTensor>
{
    /// <summary>Builds the layout for a configuration.</summary>
    /// <param name="config">The model shape.</param>
    /// <param name="elementType">The parameters' element type; fp32 unless a backend trains in bf16.</param>
    public ParameterLayout(Gpt2Config config, ElementType elementType = ElementType.Float32)
        : base(config, elementType, row => row)
    {
    }

    /// <summary>Bytes of one buffer laid out by this table.</summary>
    public long Bytes => Count * ElementType.Size();

    /// <summary>
    /// Names the first value that is NaN or infinite in a run of parameters (or gradients) laid out by this table:
    /// the tensor, the layer and the value, for example <c>qkvw (layer 3) holds NaN at element 17</c>.
    /// </summary>
    /// <param name="values">Values of elements [<paramref name="offset"/>, offset + length) of the flat buffer.</param>
    /// <param name="offset">The index of the first value in the flat buffer.</param>
    /// <returns>The description, or null when every value is finite.</returns>
    public string? FindNonFinite(ReadOnlySpan<float> values, long offset = 0)
    {
        // NaN and infinities are the floats whose exponent bits are all ones, of either sign
        var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(values);
        int positive = bits.IndexOfAnyInRange(0x7F800000u, 0x7FFFFFFFu), negative = bits.IndexOfAnyInRange(0xFF800000u, 0xFFFFFFFFu);
        int i = positive < 0 ? negative : negative < 0 ? positive : Math.Min(positive, negative);
        if (i < 0)
        {
            return null;
        }

        long at = offset + i;
        var row = Tensors.Last(r => r.Offset <= at);
        long within = at - row.Offset;
        string layer = row.IsPerLayer ? $" (layer {within / row.LayerLength})" : "";
        string value = float.IsNaN(values[i]) ? "NaN" : values[i] > 0 ? "+inf" : "-inf";
        return $"{row.Name}{layer} holds {value} at element {(row.IsPerLayer ? within % row.LayerLength : within)}";
    }
}
