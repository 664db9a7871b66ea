using System.Numerics;
using System.Runtime.CompilerServices;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// p[i] = exp(x[i] - max) and their sum (in double), in one pass at the width of <see cref="Vector{T}"/>: the softmax's
/// numerator. exp is computed in float as Cephes' expf does it (x = n·ln2 + r with ln2 split in two, a degree-6
/// polynomial for e^r on [-ln2/2, ln2/2], 2^n built from the exponent bits): within 2 ulp, where TensorPrimitives.Exp
/// widens to double and on AVX2/AVX-512 took twice the time of the whole rest of the softmax.
/// </summary>
internal static unsafe class SoftmaxExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;

    /// <summary>Below this, e^x is under float's smallest normal (2^-126) and counts as 0.</summary>
    private const float Lowest = -87.33654f;

    /// <summary>Writes exp(x[i] - max) to p (p may be x) and returns their sum; every x[i] - max must be ≤ 0.</summary>
    public static double ExpSum(float* x, float max, float* p, int n)
    {
        var shift = new Vector<float>(max);
        Vector<double> sumLow = Vector<double>.Zero, sumHigh = Vector<double>.Zero;
        int i = 0;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            var e = Exp(Vector.Load(x + i) - shift);
            e.Store(p + i);
            // summed in double: a row of 50,257 terms in float lanes would lose about 1e-5 of the sum
            Vector.Widen(e, out var low, out var high);
            sumLow += low;
            sumHigh += high;
        }

        double total = Vector.Sum(sumLow + sumHigh);
        for (; i < n; i++)
        {
            float e = Exp(x[i] - max);
            p[i] = e;
            total += e;
        }

        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Exp(Vector<float> x)
    {
        var tooSmall = Vector.LessThan(x, new Vector<float>(Lowest));
        x = Vector.Max(x, new Vector<float>(Lowest));
        var n = Vector.Floor(Vector.MultiplyAddEstimate(x, new Vector<float>(Log2E), new Vector<float>(0.5f)));
        var r = Vector.MultiplyAddEstimate(n, new Vector<float>(-Ln2High), x);
        r = Vector.MultiplyAddEstimate(n, new Vector<float>(-Ln2Low), r);
        var y = new Vector<float>(1.9875691500e-4f);
        y = Vector.MultiplyAddEstimate(y, r, new Vector<float>(1.3981999507e-3f));
        y = Vector.MultiplyAddEstimate(y, r, new Vector<float>(8.3334519073e-3f));
        y = Vector.MultiplyAddEstimate(y, r, new Vector<float>(4.1665795894e-2f));
        y = Vector.MultiplyAddEstimate(y, r, new Vector<float>(1.6666665459e-1f));
        y = Vector.MultiplyAddEstimate(y, r, new Vector<float>(5.0000001201e-1f));
        y = Vector.MultiplyAddEstimate(y, r * r, r + Vector<float>.One);
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23));
        return Vector.ConditionalSelect(tooSmall, Vector<float>.Zero, y * scale);
    }

    /// <summary>The same arithmetic for one value (the tail), so a row's result does not depend on where its vectors end.</summary>
    private static float Exp(float x)
    {
        if (x < Lowest)
        {
            return 0f;
        }

        float n = MathF.Floor(float.MultiplyAddEstimate(x, Log2E, 0.5f));
        float r = float.MultiplyAddEstimate(n, -Ln2High, x);
        r = float.MultiplyAddEstimate(n, -Ln2Low, r);
        float y = 1.9875691500e-4f;
        y = float.MultiplyAddEstimate(y, r, 1.3981999507e-3f);
        y = float.MultiplyAddEstimate(y, r, 8.3334519073e-3f);
        y = float.MultiplyAddEstimate(y, r, 4.1665795894e-2f);
        y = float.MultiplyAddEstimate(y, r, 1.6666665459e-1f);
        y = float.MultiplyAddEstimate(y, r, 5.0000001201e-1f);
        y = float.MultiplyAddEstimate(y, r * r, r + 1f);
        return y * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }
}
