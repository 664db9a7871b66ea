namespace Gpt2.Distributed;

/// <summary>Argument checks shared by the communicators, and the split of a vector into per-rank parts.</summary>
internal static class Communicators
{
    /// <summary>Splits <paramref name="length"/> elements into <paramref name="parts"/> contiguous parts that differ by at most one element.</summary>
    /// <param name="length">Elements in all.</param>
    /// <param name="parts">Number of parts (processes).</param>
    /// <returns>Elements per part, the earlier parts taking the remainder.</returns>
    public static int[] Split(long length, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        long each = length / parts, rest = length % parts;
        if (each + 1 > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A part of {length} / {parts} elements exceeds the {int.MaxValue} a collective can move.");
        }

        var counts = new int[parts];
        for (int r = 0; r < parts; r++)
        {
            counts[r] = (int)(each + (r < rest ? 1 : 0));
        }

        return counts;
    }

    /// <summary>The first element of rank <paramref name="rank"/>'s part.</summary>
    /// <param name="counts">Elements per rank.</param>
    /// <param name="rank">The rank.</param>
    /// <returns>The offset.</returns>
    public static long Offset(ReadOnlySpan<int> counts, int rank)
    {
        long offset = 0;
        for (int r = 0; r < rank; r++)
        {
            offset += counts[r];
        }

        return offset;
    }

    /// <summary>Checks a collective's counts: one per process, adding up to the vector; with <paramref name="part"/>, this rank's count equals it.</summary>
    /// <param name="counts">Elements per rank.</param>
    /// <param name="size">Number of processes.</param>
    /// <param name="total">Elements in the full vector.</param>
    /// <param name="part">Elements in this rank's part, where the collective is given one.</param>
    /// <param name="rank">This process's rank.</param>
    /// <exception cref="ArgumentException">The counts do not fit; the message says how.</exception>
    public static void CheckCounts(ReadOnlySpan<int> counts, int size, long total, int? part, int rank)
    {
        if (counts.Length != size)
        {
            throw new ArgumentException($"{counts.Length} counts given for {size} processes.", nameof(counts));
        }

        long sum = 0;
        foreach (int c in counts)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(c, nameof(counts));
            sum += c;
        }

        if (sum != total)
        {
            throw new ArgumentException($"The counts add up to {sum}, but the vector holds {total} elements.", nameof(counts));
        }

        if (part is int p && counts[rank] != p)
        {
            throw new ArgumentException($"Rank {rank}'s part holds {p} elements, but its count is {counts[rank]}.", nameof(counts));
        }
    }
}
