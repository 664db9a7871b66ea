using System.Numerics;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// output = input · weightᵀ + bias. Shapes: input (rows,C), weight (OC,C), bias (OC), output (rows,OC).
/// All three products run in outer-product form (<see cref="OuterProductGemm"/>) on the operands as they lie: the
/// forward packs the weight's rows into panels on the fly, the backward reads them directly; a forward of a few rows
/// (generation) uses the dot-product form instead. Every output element has one owner and one summation order.
/// </summary>
internal static unsafe class Matmul
{
    private const int RowTile = 4;
    private const int ColumnTile = 3;
    private const int ColumnBlock = 64;

    /// <summary>Below this many rows (generation feeds one) the dot-product form wins: it reads each weight once, with no packing.</summary>
    private const int OuterProductRows = 24;

    public static void Forward(CpuParallel parallel, float* input, float* weight, float* bias, float* output, int rows, int c, int oc)
    {
        if (rows < OuterProductRows)
        {
            Dot(parallel, input, weight, bias, output, rows, c, oc);
            return;
        }

        // output = bias, then += input · weightᵀ with the weight packed from its rows (outer-product form)
        parallel.ForRanges(rows, 16, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                var row = new Span<float>(output + r * oc, oc);
                if (bias != null)
                {
                    new ReadOnlySpan<float>(bias, oc).CopyTo(row);
                }
                else
                {
                    row.Clear();
                }
            }
        });
        OuterProductGemm.Run(parallel, input, c, 1, weight, c, bTransposed: true, output, oc, rows, oc, c);
    }

    /// <summary>
    /// output[r,o] = bias[o] + Σk a[r,k]·b[o,k], for a (rows,K) and b (OC,K). Tasks take a block of 64 columns
    /// (b rows, which then stay in cache) across all rows; inside, 4×3 tiles of outputs share their loads.
    /// </summary>
    public static void Dot(CpuParallel parallel, float* a, float* b, float* bias, float* output, int rows, int k, int oc)
    {
        int rowBlocks = (rows + RowTile - 1) / RowTile;
        int colBlocks = (oc + ColumnBlock - 1) / ColumnBlock;
        parallel.ForRanges((long)rowBlocks * colBlocks, 1, (start, end) =>
        {
            for (long task = start; task < end; task++)
            {
                int o0 = (int)(task / rowBlocks) * ColumnBlock;
                int r0 = (int)(task % rowBlocks) * RowTile;
                int o1 = Math.Min(oc, o0 + ColumnBlock);
                int r1 = Math.Min(rows, r0 + RowTile);
                int o = o0;
                if (r1 - r0 == RowTile)
                {
                    for (; o + ColumnTile <= o1; o += ColumnTile)
                    {
                        Tile4x3(a + (long)r0 * k, b + (long)o * k, bias, output + (long)r0 * oc, k, oc, o);
                    }
                }

                for (int r = r0; r < r1; r++)
                {
                    int from = r1 - r0 == RowTile ? o : o0;
                    for (int j = from; j < o1; j++)
                    {
                        float sum = VectorMath.Dot(a + (long)r * k, b + (long)j * k, k);
                        Store(output, bias, (long)r * oc + j, j, sum);
                    }
                }
            }
        });
    }

    /// <summary>Twelve dot products at once; each sums in exactly the order of <see cref="VectorMath.Dot"/>.</summary>
    private static void Tile4x3(float* x, float* w, float* bias, float* output, int k, int oc, int o)
    {
        float* x0 = x, x1 = x + k, x2 = x + 2 * k, x3 = x + 3 * k;
        float* w0 = w, w1 = w + k, w2 = w + 2 * k;
        Vector<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        int i = 0;
        for (; i + Vector<float>.Count <= k; i += Vector<float>.Count)
        {
            var v0 = Vector.Load(w0 + i);
            var v1 = Vector.Load(w1 + i);
            var v2 = Vector.Load(w2 + i);
            var u = Vector.Load(x0 + i);
            a00 = Vector.MultiplyAddEstimate(u, v0, a00);
            a01 = Vector.MultiplyAddEstimate(u, v1, a01);
            a02 = Vector.MultiplyAddEstimate(u, v2, a02);
            u = Vector.Load(x1 + i);
            a10 = Vector.MultiplyAddEstimate(u, v0, a10);
            a11 = Vector.MultiplyAddEstimate(u, v1, a11);
            a12 = Vector.MultiplyAddEstimate(u, v2, a12);
            u = Vector.Load(x2 + i);
            a20 = Vector.MultiplyAddEstimate(u, v0, a20);
            a21 = Vector.MultiplyAddEstimate(u, v1, a21);
            a22 = Vector.MultiplyAddEstimate(u, v2, a22);
            u = Vector.Load(x3 + i);
            a30 = Vector.MultiplyAddEstimate(u, v0, a30);
            a31 = Vector.MultiplyAddEstimate(u, v1, a31);
            a32 = Vector.MultiplyAddEstimate(u, v2, a32);
        }

        Finish(x0, w0, w1, w2, a00, a01, a02, i, k, bias, output, o);
        Finish(x1, w0, w1, w2, a10, a11, a12, i, k, bias, output + oc, o);
        Finish(x2, w0, w1, w2, a20, a21, a22, i, k, bias, output + 2L * oc, o);
        Finish(x3, w0, w1, w2, a30, a31, a32, i, k, bias, output + 3L * oc, o);
    }

    /// <summary>Lane sums, then the scalar tail, then the stores of one row's three outputs.</summary>
    private static void Finish(float* x, float* w0, float* w1, float* w2, Vector<float> a0, Vector<float> a1, Vector<float> a2,
        int i, int k, float* bias, float* row, int o)
    {
        float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2);
        for (; i < k; i++)
        {
            s0 = float.MultiplyAddEstimate(x[i], w0[i], s0);
            s1 = float.MultiplyAddEstimate(x[i], w1[i], s1);
            s2 = float.MultiplyAddEstimate(x[i], w2[i], s2);
        }

        Store(row, bias, o, o, s0);
        Store(row, bias, o + 1, o + 1, s1);
        Store(row, bias, o + 2, o + 2, s2);
    }

    private static void Store(float* output, float* bias, long at, int column, float sum) =>
        output[at] = (bias != null ? bias[column] : 0f) + sum;

    /// <summary>
    /// dInput (rows,C) += dOutput · weight and dWeight (OC,C) += dOutputᵀ · input, both in outer-product form on the
    /// operands as they lie (<see cref="OuterProductGemm"/>); dBias (OC) += Σ rows dOutput.
    /// </summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* input, float* weight,
        float* dInput, float* dWeight, float* dBias, int rows, int c, int oc)
    {
        // dInput[r,:] += Σo dOutput[r,o] · weight[o,:]
        OuterProductGemm.Run(parallel, dOutput, oc, 1, weight, c, dInput, c, rows, c, oc);
        // dWeight[o,:] += Σr dOutput[r,o] · input[r,:]
        OuterProductGemm.Run(parallel, dOutput, 1, oc, input, c, dWeight, c, oc, c, rows);
        if (dBias != null)
        {
            parallel.ForRanges((oc + 63) / 64, 1, (start, end) =>
            {
                for (long blockIndex = start; blockIndex < end; blockIndex++)
                {
                    int o0 = (int)blockIndex * 64, o1 = Math.Min(oc, o0 + 64);
                    for (int r = 0; r < rows; r++)
                    {
                        VectorMath.Add(dBias + o0, dOutput + (long)r * oc + o0, o1 - o0);
                    }
                }
            });
        }
    }
}
