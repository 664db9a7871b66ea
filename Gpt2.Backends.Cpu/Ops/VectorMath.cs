using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>Vector256 building blocks shared by the ops. Each has one fixed summation order, whatever the caller's threading.</summary>
internal static unsafe class VectorMath
{
    /// <summary>Σ a[i]·b[i]: eight lanes with fused multiply-add, lane sum, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        var acc = Vector256<float>.Zero;
        for (; i + 8 <= n; i += 8)
        {
            acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
        }

        float sum = Vector256.Sum(acc);
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        }

        return sum;
    }

    /// <summary>y[i] += alpha·x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float* y, float* x, float alpha, int n)
    {
        int i = 0;
        var a = Vector256.Create(alpha);
        for (; i + 8 <= n; i += 8)
        {
            Vector256.FusedMultiplyAdd(a, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
        }

        for (; i < n; i++)
        {
            y[i] = MathF.FusedMultiplyAdd(alpha, x[i], y[i]);
        }
    }

    /// <summary>y[i] += x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(float* y, float* x, long n)
    {
        long i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(y + i) + Vector256.Load(x + i)).Store(y + i);
        }

        for (; i < n; i++)
        {
            y[i] += x[i];
        }
    }
}
