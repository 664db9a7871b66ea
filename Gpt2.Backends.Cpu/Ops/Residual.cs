using System.Numerics;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>Residual connection output = a + b, elementwise over (count).</summary>
internal static unsafe class Residual
{
    public static void Forward(CpuParallel parallel, float* a, float* b, float* output, long count)
    {
        parallel.ForRanges(count, 1 << 14, (start, end) =>
        {
            long i = start;
            for (; i + Vector<float>.Count <= end; i += Vector<float>.Count)
            {
                (Vector.Load(a + i) + Vector.Load(b + i)).Store(output + i);
            }

            for (; i < end; i++)
            {
                output[i] = a[i] + b[i];
            }
        });
    }
}
