namespace Gpt2.Backends.Cpu.Ops;

/// <summary>Σ x² in double over fixed chunks, combined in chunk order: the result does not depend on the thread count.</summary>
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
                double sum = 0;
                for (long i = i0; i < i1; i++)
                {
                    sum += (double)values[i] * values[i];
                }

                partial[k] = sum;
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
