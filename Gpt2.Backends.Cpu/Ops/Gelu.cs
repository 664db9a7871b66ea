using System.Numerics.Tensors;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// GELU, tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). Elementwise over (count), in chunks whose
/// tanh goes through TensorPrimitives' vectorized Tanh.
/// </summary>
internal static unsafe class Gelu
{
    private const int Chunk = 2048;
    private static readonly float ScalingFactor = MathF.Sqrt(2.0f / MathF.PI);

    public static void Forward(CpuParallel parallel, float* input, float* output, long count)
    {
        parallel.ForRanges(count, 4 * Chunk, (start, end) =>
        {
            Span<float> th = stackalloc float[Chunk];
            for (long i0 = start; i0 < end; i0 += Chunk)
            {
                int n = (int)Math.Min(Chunk, end - i0);
                var x = new ReadOnlySpan<float>(input + i0, n);
                var t = th[..n];
                TanhArgument(x, t);
                TensorPrimitives.Tanh(t, t);
                float* o = output + i0;
                for (int i = 0; i < n; i++)
                {
                    o[i] = 0.5f * x[i] * (1.0f + t[i]);
                }
            }
        });
    }

    /// <summary>dInput += gelu'(x)·dOutput, with sech² written as 1 − tanh², which cannot overflow.</summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* input, float* dInput, long count)
    {
        float k = ScalingFactor;
        parallel.ForRanges(count, 4 * Chunk, (start, end) =>
        {
            Span<float> th = stackalloc float[Chunk];
            for (long i0 = start; i0 < end; i0 += Chunk)
            {
                int n = (int)Math.Min(Chunk, end - i0);
                var x = new ReadOnlySpan<float>(input + i0, n);
                var t = th[..n];
                TanhArgument(x, t);
                TensorPrimitives.Tanh(t, t);
                float* d = dOutput + i0;
                float* dx = dInput + i0;
                for (int i = 0; i < n; i++)
                {
                    float xi = x[i], ti = t[i];
                    float local = 0.5f * (1.0f + ti) + xi * 0.5f * (1.0f - ti * ti) * k * (1.0f + 3.0f * 0.044715f * xi * xi);
                    dx[i] += local * d[i];
                }
            }
        });
    }

    private static void TanhArgument(ReadOnlySpan<float> x, Span<float> t)
    {
        float k = ScalingFactor;
        for (int i = 0; i < x.Length; i++)
        {
            float xi = x[i];
            t[i] = k * (xi + 0.044715f * xi * xi * xi);
        }
    }
}
