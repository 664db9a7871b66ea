using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// output = input · weightᵀ + bias. Shapes: input (rows,C), weight (OC,C), bias (OC), output (rows,OC).
/// Every product is computed in dot-product form over a contiguous K: the forward directly, the backward after
/// transposing its operands into scratch memory (dInput = dOutput · (Wᵀ)ᵀ, dWeight = (dOutputᵀ) · (inputᵀ)ᵀ), so the
/// three matmuls share one register-tiled kernel. Every output element has one owner and one summation order.
/// </summary>
internal static unsafe class Matmul
{
    private const int RowTile = 4;
    private const int ColumnTile = 3;
    private const int ColumnBlock = 64;

    public static void Forward(CpuParallel parallel, float* input, float* weight, float* bias, float* output, int rows, int c, int oc) =>
        Dot(parallel, input, weight, bias, output, rows, c, oc, accumulate: false);

    /// <summary>
    /// output[r,o] (+)= bias[o] + Σk a[r,k]·b[o,k], for a (rows,K) and b (OC,K). Tasks take a block of 64 columns
    /// (b rows, which then stay in cache) across all rows; inside, 4×3 tiles of outputs share their loads.
    /// </summary>
    public static void Dot(CpuParallel parallel, float* a, float* b, float* bias, float* output, int rows, int k, int oc, bool accumulate)
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
                        Tile4x3(a + (long)r0 * k, b + (long)o * k, bias, output + (long)r0 * oc, k, oc, o, accumulate);
                    }
                }

                for (int r = r0; r < r1; r++)
                {
                    int from = r1 - r0 == RowTile ? o : o0;
                    for (int j = from; j < o1; j++)
                    {
                        float sum = VectorMath.Dot(a + (long)r * k, b + (long)j * k, k);
                        Store(output, bias, (long)r * oc + j, j, sum, accumulate);
                    }
                }
            }
        });
    }

    /// <summary>Twelve dot products at once; each sums in exactly the order of <see cref="VectorMath.Dot"/>.</summary>
    private static void Tile4x3(float* x, float* w, float* bias, float* output, int k, int oc, int o, bool accumulate)
    {
        float* x0 = x, x1 = x + k, x2 = x + 2 * k, x3 = x + 3 * k;
        float* w0 = w, w1 = w + k, w2 = w + 2 * k;
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            var v0 = Vector256.Load(w0 + i);
            var v1 = Vector256.Load(w1 + i);
            var v2 = Vector256.Load(w2 + i);
            var u = Vector256.Load(x0 + i);
            a00 = Vector256.FusedMultiplyAdd(u, v0, a00);
            a01 = Vector256.FusedMultiplyAdd(u, v1, a01);
            a02 = Vector256.FusedMultiplyAdd(u, v2, a02);
            u = Vector256.Load(x1 + i);
            a10 = Vector256.FusedMultiplyAdd(u, v0, a10);
            a11 = Vector256.FusedMultiplyAdd(u, v1, a11);
            a12 = Vector256.FusedMultiplyAdd(u, v2, a12);
            u = Vector256.Load(x2 + i);
            a20 = Vector256.FusedMultiplyAdd(u, v0, a20);
            a21 = Vector256.FusedMultiplyAdd(u, v1, a21);
            a22 = Vector256.FusedMultiplyAdd(u, v2, a22);
            u = Vector256.Load(x3 + i);
            a30 = Vector256.FusedMultiplyAdd(u, v0, a30);
            a31 = Vector256.FusedMultiplyAdd(u, v1, a31);
            a32 = Vector256.FusedMultiplyAdd(u, v2, a32);
        }

        Finish(x0, w0, w1, w2, a00, a01, a02, i, k, bias, output, o, accumulate);
        Finish(x1, w0, w1, w2, a10, a11, a12, i, k, bias, output + oc, o, accumulate);
        Finish(x2, w0, w1, w2, a20, a21, a22, i, k, bias, output + 2L * oc, o, accumulate);
        Finish(x3, w0, w1, w2, a30, a31, a32, i, k, bias, output + 3L * oc, o, accumulate);
    }

    /// <summary>Lane sums, then the scalar tail, then the stores of one row's three outputs.</summary>
    private static void Finish(float* x, float* w0, float* w1, float* w2, Vector256<float> a0, Vector256<float> a1, Vector256<float> a2,
        int i, int k, float* bias, float* row, int o, bool accumulate)
    {
        float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2);
        for (; i < k; i++)
        {
            s0 = MathF.FusedMultiplyAdd(x[i], w0[i], s0);
            s1 = MathF.FusedMultiplyAdd(x[i], w1[i], s1);
            s2 = MathF.FusedMultiplyAdd(x[i], w2[i], s2);
        }

        Store(row, bias, o, o, s0, accumulate);
        Store(row, bias, o + 1, o + 1, s1, accumulate);
        Store(row, bias, o + 2, o + 2, s2, accumulate);
    }

    private static void Store(float* output, float* bias, long at, int column, float sum, bool accumulate)
    {
        float v = (bias != null ? bias[column] : 0f) + sum;
        output[at] = accumulate ? output[at] + v : v;
    }

    /// <summary>
    /// dInput (rows,C) += dOutput · weight and dWeight (OC,C) += dOutputᵀ · input, both through <see cref="Dot"/> on
    /// transposed copies in <paramref name="scratch"/>; dBias (OC) += Σ rows dOutput, summed along the transposed rows.
    /// </summary>
    public static void Backward(CpuParallel parallel, CpuScratch scratch, float* dOutput, float* input, float* weight,
        float* dInput, float* dWeight, float* dBias, int rows, int c, int oc)
    {
        float* weightT = scratch.Get(0, (long)c * oc);   // (C, OC)
        float* dOutputT = scratch.Get(1, (long)oc * rows); // (OC, rows)
        float* inputT = scratch.Get(2, (long)c * rows);    // (C, rows)
        Transpose(parallel, weight, weightT, oc, c);
        Transpose(parallel, dOutput, dOutputT, rows, oc);
        Transpose(parallel, input, inputT, rows, c);
        Dot(parallel, dOutput, weightT, null, dInput, rows, oc, c, accumulate: true);
        Dot(parallel, dOutputT, inputT, null, dWeight, oc, rows, c, accumulate: true);
        if (dBias != null)
        {
            parallel.ForRanges(oc, 64, (start, end) =>
            {
                for (long o = start; o < end; o++)
                {
                    float* d = dOutputT + o * rows;
                    float sum = 0f;
                    for (int r = 0; r < rows; r++)
                    {
                        sum += d[r];
                    }

                    dBias[o] += sum;
                }
            });
        }
    }

    /// <summary>
    /// destination (cols, rows) = sourceᵀ for source (rows, cols), in 32×32 blocks that stay in cache, each made of
    /// 8×8 register transposes where AVX is available.
    /// </summary>
    public static void Transpose(CpuParallel parallel, float* source, float* destination, int rows, int cols)
    {
        const int block = 32;
        int rowBlocks = (rows + block - 1) / block;
        int colBlocks = (cols + block - 1) / block;
        parallel.ForRanges((long)rowBlocks * colBlocks, 16, (start, end) =>
        {
            for (long task = start; task < end; task++)
            {
                int c0 = (int)(task / rowBlocks) * block, r0 = (int)(task % rowBlocks) * block;
                int c1 = Math.Min(cols, c0 + block), r1 = Math.Min(rows, r0 + block);
                int rFull = Avx.IsSupported ? r0 + (r1 - r0) / 8 * 8 : r0;
                int cFull = Avx.IsSupported ? c0 + (c1 - c0) / 8 * 8 : c0;
                for (int r = r0; r < rFull; r += 8)
                {
                    for (int j = c0; j < cFull; j += 8)
                    {
                        Transpose8x8(source + (long)r * cols + j, cols, destination + (long)j * rows + r, rows);
                    }
                }

                // the ragged edges, element by element
                for (int r = r0; r < r1; r++)
                {
                    float* s = source + (long)r * cols;
                    for (int j = r < rFull ? cFull : c0; j < c1; j++)
                    {
                        destination[(long)j * rows + r] = s[j];
                    }
                }
            }
        });
    }

    private static void Transpose8x8(float* source, int sourceStride, float* destination, int destinationStride)
    {
        var r0 = Avx.LoadVector256(source);
        var r1 = Avx.LoadVector256(source + sourceStride);
        var r2 = Avx.LoadVector256(source + 2L * sourceStride);
        var r3 = Avx.LoadVector256(source + 3L * sourceStride);
        var r4 = Avx.LoadVector256(source + 4L * sourceStride);
        var r5 = Avx.LoadVector256(source + 5L * sourceStride);
        var r6 = Avx.LoadVector256(source + 6L * sourceStride);
        var r7 = Avx.LoadVector256(source + 7L * sourceStride);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(destination, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(destination + destinationStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(destination + 2L * destinationStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(destination + 3L * destinationStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(destination + 4L * destinationStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(destination + 5L * destinationStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(destination + 6L * destinationStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(destination + 7L * destinationStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
