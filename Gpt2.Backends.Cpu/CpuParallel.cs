namespace Gpt2.Backends.Cpu;

/// <summary>
/// Splits loops over the configured number of threads. Ranges only decide who computes an element, never the
/// order of a sum, so results do not depend on the thread count.
/// </summary>
internal sealed class CpuParallel
{
    private readonly ParallelOptions _options;

    public CpuParallel(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        Threads = threads;
        _options = new ParallelOptions { MaxDegreeOfParallelism = threads };
    }

    public int Threads { get; }

    /// <summary>Runs body(start, end) over [0, count) in ranges of at least <paramref name="minChunk"/> items.</summary>
    public void ForRanges(long count, long minChunk, Action<long, long> body)
    {
        if (count <= 0)
        {
            return;
        }

        long chunks = Math.Min(Math.Max(1, count / Math.Max(1, minChunk)), Threads * 4L);
        if (chunks <= 1 || Threads == 1)
        {
            body(0, count);
            return;
        }

        long size = (count + chunks - 1) / chunks;
        Parallel.For(0, (count + size - 1) / size, _options, i =>
        {
            long start = i * size;
            body(start, Math.Min(count, start + size));
        });
    }

    /// <summary>Runs body(i) for each i in [0, count), one task per item (items are large).</summary>
    public void ForEach(long count, Action<long> body)
    {
        if (Threads == 1 || count == 1)
        {
            for (long i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        Parallel.For(0, count, _options, body);
    }
}
