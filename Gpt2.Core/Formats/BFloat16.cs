namespace Gpt2.Formats;

/// <summary>bfloat16 stored as <see cref="ushort"/>: the upper half of an IEEE float32.</summary>
public static class BFloat16
{
    /// <summary>Widens bf16 values to float32 exactly.</summary>
    /// <param name="source">bf16 bit patterns.</param>
    /// <param name="destination">float32 values, same length.</param>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length != source.Length)
        {
            throw new ArgumentException("Source and destination lengths differ.", nameof(destination));
        }

        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
        }
    }

    /// <summary>Narrows float32 values to bf16 with round-to-nearest-even; NaN stays NaN.</summary>
    /// <param name="source">float32 values.</param>
    /// <param name="destination">bf16 bit patterns, same length.</param>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length != source.Length)
        {
            throw new ArgumentException("Source and destination lengths differ.", nameof(destination));
        }

        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = FromSingle(source[i]);
        }
    }

    /// <summary>Narrows one float32 value to bf16 with round-to-nearest-even.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The bf16 bit pattern.</returns>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40); // keep it a quiet NaN after truncation
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }
}
