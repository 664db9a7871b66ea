using System.Runtime.Intrinsics;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// output = input · weightᵀ + bias. Shapes: input (rows,C), weight (OC,C), bias (OC), output (rows,OC).
/// Forward works on blocks of four rows so each weight vector loaded serves four dot products.
/// </summary>
internal static unsafe class Matmul
{
    private const int RowBlock = 4;
    private const int ColumnBlock = 64;

    public static void Forward(CpuParallel parallel, float* input, float* weight, float* bias, float* output, int rows, int c, int oc)
    {
        int rowBlocks = (rows + RowBlock - 1) / RowBlock;
        int colBlocks = (oc + ColumnBlock - 1) / ColumnBlock;
        parallel.ForRanges((long)rowBlocks * colBlocks, 1, (start, end) =>
        {
            for (long task = start; task < end; task++)
            {
                int r0 = (int)(task / colBlocks) * RowBlock;
                int o0 = (int)(task % colBlocks) * ColumnBlock;
                int o1 = Math.Min(oc, o0 + ColumnBlock);
                if (r0 + RowBlock <= rows)
                {
                    ForwardBlock4(input + (long)r0 * c, weight, bias, output + (long)r0 * oc, c, oc, o0, o1);
                }
                else
                {
                    for (int r = r0; r < rows; r++)
                    {
                        for (int o = o0; o < o1; o++)
                        {
                            float sum = VectorMath.Dot(input + (long)r * c, weight + (long)o * c, c);
                            output[(long)r * oc + o] = (bias != null ? bias[o] : 0f) + sum;
                        }
                    }
                }
            }
        });
    }

    /// <summary>Four rows at once; each dot product sums in exactly the order of <see cref="VectorMath.Dot"/>.</summary>
    private static void ForwardBlock4(float* x, float* weight, float* bias, float* output, int c, int oc, int o0, int o1)
    {
        float* x0 = x, x1 = x + c, x2 = x + 2 * c, x3 = x + 3 * c;
        for (int o = o0; o < o1; o++)
        {
            float* w = weight + (long)o * c;
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            int i = 0;
            for (; i + 8 <= c; i += 8)
            {
                var wv = Vector256.Load(w + i);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(x0 + i), wv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(x1 + i), wv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(x2 + i), wv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(x3 + i), wv, a3);
            }

            float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
            for (; i < c; i++)
            {
                s0 = MathF.FusedMultiplyAdd(x0[i], w[i], s0);
                s1 = MathF.FusedMultiplyAdd(x1[i], w[i], s1);
                s2 = MathF.FusedMultiplyAdd(x2[i], w[i], s2);
                s3 = MathF.FusedMultiplyAdd(x3[i], w[i], s3);
            }

            float b = bias != null ? bias[o] : 0f;
            output[o] = b + s0;
            output[oc + o] = b + s1;
            output[2L * oc + o] = b + s2;
            output[3L * oc + o] = b + s3;
        }
    }

    /// <summary>
    /// dInput (rows,C) += dOutput · weight, split by rows; dWeight (OC,C) += dOutputᵀ · input and
    /// dBias (OC) += Σ rows dOutput, split by output channel. Every element has one owner and sums in row order.
    /// </summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* input, float* weight,
        float* dInput, float* dWeight, float* dBias, int rows, int c, int oc)
    {
        parallel.ForRanges(rows, 4, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                float* dx = dInput + r * c;
                float* dout = dOutput + r * oc;
                for (int o = 0; o < oc; o++)
                {
                    VectorMath.Axpy(dx, weight + (long)o * c, dout[o], c);
                }
            }
        });

        parallel.ForRanges(oc, 4, (start, end) =>
        {
            for (long o = start; o < end; o++)
            {
                float* dw = dWeight + o * c;
                float db = 0;
                for (long r = 0; r < rows; r++)
                {
                    float d = dOutput[r * oc + o];
                    db += d;
                    VectorMath.Axpy(dw, input + r * c, d, c);
                }

                if (dBias != null)
                {
                    dBias[o] += db;
                }
            }
        });
    }
}
