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

    /// <summary>
    /// Narrows one float32 value to bf16 with stochastic rounding: of the two bf16 neighbours, the one further from
    /// zero is taken with probability (discarded low 16 bits) / 65536, so the rounding is unbiased on average (the
    /// expected result is the value itself). Exact bf16 values, infinities and NaN are narrowed as <see cref="FromSingle(float)"/>.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <param name="random">Random bits; the low 16 are the threshold (use <see cref="RoundingNoise"/> for a seeded, position-keyed stream).</param>
    /// <returns>The bf16 bit pattern.</returns>
    public static ushort FromSingleStochastic(float value, uint random)
    {
        if (!float.IsFinite(value))
        {
            return FromSingle(value);
        }

        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint truncated = bits >> 16;
        return (ushort)((bits & 0xFFFFu) > (random & 0xFFFFu) ? truncated + 1 : truncated);
    }

    /// <summary>
    /// 32 random bits for element <paramref name="index"/> of a stream <paramref name="seed"/>: Squirrel Eiserloh's
    /// SquirrelNoise5 hash, as llm.c's stochastic rounding uses. Keyed by the element's position rather than a thread's,
    /// so any backend and launch shape rounds a tensor the same way, and a checkpointed seed resumes exactly.
    /// </summary>
    /// <param name="index">The element's position.</param>
    /// <param name="seed">The stream: for example a per-tensor, per-step seed.</param>
    /// <returns>The bits.</returns>
    public static uint RoundingNoise(uint index, uint seed)
    {
        uint x = index * 0xD2A80A3Fu;
        x += seed;
        x ^= x >> 9;
        x += 0xA884F197u;
        x ^= x >> 11;
        x *= 0x6C736F4Bu;
        x ^= x >> 13;
        x += 0xB79F3ABBu;
        x ^= x >> 15;
        x *= 0x1B56C4F5u;
        x ^= x >> 17;
        return x;
    }
}
