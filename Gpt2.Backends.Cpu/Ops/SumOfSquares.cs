using System.Numerics.Tensors;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// Σ x² over fixed chunks of 65,536 (vectorized in float within a chunk), the chunks added in double in order: the
/// result does not depend on the thread count.
/// </summary>
internal static unsafe class SumOfSquares
{
    private const long Chunk = 1 << 16;

    public static float Compute(CpuParallel parallel, float* values, long count)
    {
        long chunks = (count + Chunk - 1) / Chunk;
        var partial = new double[chunks];
        parallel.ForRanges(chunks, 1, (start, end) =>
        {
            for (long k = start; k < end; k++)
            {
                long i0 = k * Chunk, i1 = Math.Min(count, i0 + Chunk);
                partial[k] = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(values + i0, (int)(i1 - i0)));
            }
        });

        double total = 0;
        foreach (double p in partial)
        {
            total += p;
        }

        return (float)total;
    }
}
