using System.Runtime.CompilerServices;
using System.Numerics;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>SIMD building blocks shared by the ops, at the width of <see cref="Vector{T}"/> (256 bits with AVX2, 128 with SSE or AdvSimd). Each has one fixed summation order, whatever the caller's threading.</summary>
internal static unsafe class VectorMath
{
    /// <summary>Σ a[i]·b[i]: one vector of lanes with multiply-add (fused where the hardware fuses), lane sum, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        var acc = Vector<float>.Zero;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            acc = Vector.MultiplyAddEstimate(Vector.Load(a + i), Vector.Load(b + i), acc);
        }

        float sum = Vector.Sum(acc);
        for (; i < n; i++)
        {
            sum = float.MultiplyAddEstimate(a[i], b[i], sum);
        }

        return sum;
    }

    /// <summary>y[i] += alpha·x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float* y, float* x, float alpha, int n)
    {
        int i = 0;
        var a = Vector.Create(alpha);
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            Vector.MultiplyAddEstimate(a, Vector.Load(x + i), Vector.Load(y + i)).Store(y + i);
        }

        for (; i < n; i++)
        {
            y[i] = float.MultiplyAddEstimate(alpha, x[i], y[i]);
        }
    }

    /// <summary>y[i] += x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(float* y, float* x, long n)
    {
        long i = 0;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            (Vector.Load(y + i) + Vector.Load(x + i)).Store(y + i);
        }

        for (; i < n; i++)
        {
            y[i] += x[i];
        }
    }
}
