using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// C (M,N) += A (M,K) · B (K,N) in outer-product form: B is read along its rows (N contiguous) and A through any
/// strides, so the backward products take the forward's operands as they lie, with no transposed copies. K is cut
/// into chunks that stay in cache; each chunk of B is copied into a per-thread panel, 16 columns after 16 columns
/// (zero-padded at the right edge), so the 6×16 register tiles read it sequentially. Every element of C sums its
/// products in order of k, starting from its old value, in full tiles and edge tiles alike, and tasks split only M
/// and N: the result does not depend on the thread count or on where the tiles fall.
/// </summary>
internal static unsafe class OuterProductGemm
{
    private const int RowTile = 6;
    private const int ColumnTile = 16;
    private const int DepthChunk = 256;
    private const int ColumnBlock = 128;

    [ThreadStatic]
    private static float[]? _panel;

    /// <summary>C[i,j] += Σk A[i·aRow + k·aDepth] · B[k·ldb + j], C[i,j] at c[i·ldc + j].</summary>
    public static void Run(CpuParallel parallel, float* a, long aRow, long aDepth, float* b, int ldb, float* c, int ldc, int m, int n, int k) =>
        Run(parallel, a, aRow, aDepth, b, ldb, bTransposed: false, c, ldc, m, n, k);

    /// <summary>
    /// C[i,j] += Σk A[i·aRow + k·aDepth] · B(k,j), with B(k,j) at b[k·ldb + j], or at b[j·ldb + k] when
    /// <paramref name="bTransposed"/> (B's columns contiguous, as a weight matrix in the forward).
    /// </summary>
    public static void Run(CpuParallel parallel, float* a, long aRow, long aDepth, float* b, int ldb, bool bTransposed, float* c, int ldc, int m, int n, int k)
    {
        // rows per task: many, so that each packed chunk of B serves many row tiles
        int rowBlock = m >= 4 * 96 ? 96 : (m + RowTile - 1) / RowTile * RowTile;
        int rowBlocks = (m + rowBlock - 1) / rowBlock, columnBlocks = (n + ColumnBlock - 1) / ColumnBlock;
        parallel.ForRanges((long)rowBlocks * columnBlocks, 1, (start, end) =>
        {
            _panel ??= GC.AllocateUninitializedArray<float>(DepthChunk * ColumnBlock + RowTile * ColumnTile + RowTile * DepthChunk, pinned: true);
            fixed (float* panel = _panel)
            {
                float* edge = panel + DepthChunk * ColumnBlock; // one 6×16 tile of C for the ragged edges
                float* edgeRows = edge + RowTile * ColumnTile;   // six rows of A, copied (and zero-padded at the bottom edge)
                for (long task = start; task < end; task++)
                {
                    int i0 = (int)(task / columnBlocks) * rowBlock, j0 = (int)(task % columnBlocks) * ColumnBlock;
                    int i1 = Math.Min(m, i0 + rowBlock), j1 = Math.Min(n, j0 + ColumnBlock);
                    int tiles = (j1 - j0 + ColumnTile - 1) / ColumnTile;
                    for (int k0 = 0; k0 < k; k0 += DepthChunk)
                    {
                        int kc = Math.Min(DepthChunk, k - k0);
                        if (bTransposed)
                        {
                            PackTransposed(b + (long)j0 * ldb + k0, ldb, j1 - j0, kc, panel);
                        }
                        else
                        {
                            Pack(b + (long)k0 * ldb + j0, ldb, j1 - j0, kc, panel);
                        }

                        for (int i = i0; i < i1; i += RowTile)
                        {
                            int rows = Math.Min(RowTile, i1 - i);
                            float* ai = a + i * aRow + k0 * aDepth;
                            long tileRow = aRow, tileDepth = aDepth;
                            if (rows < RowTile || (aRow == 1 && aDepth % 1024 == 0))
                            {
                                // a ragged bottom edge, or A's columns a multiple of 4 KiB apart (one cache set): copy
                                PadRows(ai, aRow, aDepth, rows, kc, edgeRows);
                                ai = edgeRows;
                                tileRow = 1;
                                tileDepth = RowTile;
                            }

                            for (int t = 0; t < tiles; t++)
                            {
                                int j = j0 + t * ColumnTile, cols = Math.Min(ColumnTile, j1 - j);
                                float* ct = c + (long)i * ldc + j;
                                if (rows == RowTile && cols == ColumnTile)
                                {
                                    Tile6x16(ai, tileRow, tileDepth, panel + t * kc * ColumnTile, ct, ldc, kc);
                                }
                                else
                                {
                                    CopyTile(ct, ldc, edge, ColumnTile, rows, cols);
                                    Tile6x16(ai, tileRow, tileDepth, panel + t * kc * ColumnTile, edge, ColumnTile, kc);
                                    CopyTile(edge, ColumnTile, ct, ldc, rows, cols);
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>Copies B[0..kc, 0..width) into panel[tile][kk][16], zero-padding the last tile.</summary>
    private static void Pack(float* b, int ldb, int width, int kc, float* panel)
    {
        int full = width / ColumnTile, rest = width % ColumnTile;
        for (int kk = 0; kk < kc; kk++)
        {
            float* row = b + (long)kk * ldb;
            float* to = panel + kk * ColumnTile;
            for (int t = 0; t < full; t++, row += ColumnTile, to += kc * ColumnTile)
            {
                Buffer.MemoryCopy(row, to, ColumnTile * sizeof(float), ColumnTile * sizeof(float)); // fast at any vector width
            }

            if (rest > 0)
            {
                for (int j = 0; j < ColumnTile; j++)
                {
                    to[j] = j < rest ? row[j] : 0f;
                }
            }
        }
    }

    /// <summary>
    /// Copies Bᵀ's rows 0..width (each kc long, ldb apart) into panel[tile][kk][16], zero-padding the last tile;
    /// 8×8 blocks go through AVX register transposes.
    /// </summary>
    private static void PackTransposed(float* bt, int ldb, int width, int kc, float* panel)
    {
        int tiles = (width + ColumnTile - 1) / ColumnTile;
        int kFull = Avx.IsSupported ? kc / 8 * 8 : 0;
        for (int t = 0; t < tiles; t++)
        {
            float* to = panel + t * kc * ColumnTile;
            for (int half = 0; half < 2; half++)
            {
                int j = t * ColumnTile + half * 8;
                if (j + 8 <= width)
                {
                    float* from = bt + (long)j * ldb;
                    for (int kk = 0; kk < kFull; kk += 8)
                    {
                        Transpose8x8(from + kk, ldb, to + kk * ColumnTile + half * 8, ColumnTile);
                    }

                    for (int kk = kFull; kk < kc; kk++)
                    {
                        for (int jj = 0; jj < 8; jj++)
                        {
                            to[kk * ColumnTile + half * 8 + jj] = from[(long)jj * ldb + kk];
                        }
                    }
                }
                else
                {
                    for (int kk = 0; kk < kc; kk++)
                    {
                        for (int jj = 0; jj < 8; jj++)
                        {
                            to[kk * ColumnTile + half * 8 + jj] = j + jj < width ? bt[(long)(j + jj) * ldb + kk] : 0f;
                        }
                    }
                }
            }
        }
    }

    /// <summary>destination rows 0..7 (stride) = columns 0..7 of source's rows 0..7 (stride).</summary>
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

    /// <summary>Copies A[0..rows, 0..kc) into edgeRows[kk][6], zero for the missing rows.</summary>
    private static void PadRows(float* a, long aRow, long aDepth, int rows, int kc, float* edgeRows)
    {
        if (aRow == 1 && rows == RowTile)
        {
            for (int kk = 0; kk < kc; kk++)
            {
                float* from = a + kk * aDepth;
                Vector128.Store(Vector128.Load(from), edgeRows + kk * RowTile);
                edgeRows[kk * RowTile + 4] = from[4];
                edgeRows[kk * RowTile + 5] = from[5];
            }

            return;
        }

        for (int kk = 0; kk < kc; kk++)
        {
            for (int r = 0; r < RowTile; r++)
            {
                edgeRows[kk * RowTile + r] = r < rows ? a[r * aRow + kk * aDepth] : 0f;
            }
        }
    }

    /// <summary>Copies a rows × cols block between two row-major tiles; the rest of a 6×16 target is zeroed when the target is the edge tile.</summary>
    private static void CopyTile(float* from, int fromStride, float* to, int toStride, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++)
            {
                to[(long)r * toStride + j] = from[(long)r * fromStride + j];
            }
        }
    }

    /// <summary>C[6,16] += A[6,kc] · B[kc,16]: A(r,kk) at a[r·aRow + kk·aDepth], B packed as [kk][16].</summary>
    private static void Tile6x16(float* a, long aRow, long aDepth, float* b, float* c, int ldc, int kc)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            // 128-bit machines (AVX off, ARM64's AdvSimd): two 6×8 halves, 12 accumulators each, as many registers as SSE has
            Tile6x8(a, aRow, aDepth, b, c, ldc, kc);
            Tile6x8(a, aRow, aDepth, b + 8, c + 8, ldc, kc);
            return;
        }

        float* c0 = c, c1 = c + ldc, c2 = c + 2L * ldc, c3 = c + 3L * ldc, c4 = c + 4L * ldc, c5 = c + 5L * ldc;
        var x00 = Vector256.Load(c0); var x01 = Vector256.Load(c0 + 8);
        var x10 = Vector256.Load(c1); var x11 = Vector256.Load(c1 + 8);
        var x20 = Vector256.Load(c2); var x21 = Vector256.Load(c2 + 8);
        var x30 = Vector256.Load(c3); var x31 = Vector256.Load(c3 + 8);
        var x40 = Vector256.Load(c4); var x41 = Vector256.Load(c4 + 8);
        var x50 = Vector256.Load(c5); var x51 = Vector256.Load(c5 + 8);
        long r1 = aRow, r2 = 2 * aRow, r3 = 3 * aRow, r4 = 4 * aRow, r5 = 5 * aRow;
        for (int kk = 0; kk < kc; kk++, a += aDepth, b += ColumnTile)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var s = Vector256.Create(a[0]);
            x00 = Vector256.FusedMultiplyAdd(s, b0, x00);
            x01 = Vector256.FusedMultiplyAdd(s, b1, x01);
            s = Vector256.Create(a[r1]);
            x10 = Vector256.FusedMultiplyAdd(s, b0, x10);
            x11 = Vector256.FusedMultiplyAdd(s, b1, x11);
            s = Vector256.Create(a[r2]);
            x20 = Vector256.FusedMultiplyAdd(s, b0, x20);
            x21 = Vector256.FusedMultiplyAdd(s, b1, x21);
            s = Vector256.Create(a[r3]);
            x30 = Vector256.FusedMultiplyAdd(s, b0, x30);
            x31 = Vector256.FusedMultiplyAdd(s, b1, x31);
            s = Vector256.Create(a[r4]);
            x40 = Vector256.FusedMultiplyAdd(s, b0, x40);
            x41 = Vector256.FusedMultiplyAdd(s, b1, x41);
            s = Vector256.Create(a[r5]);
            x50 = Vector256.FusedMultiplyAdd(s, b0, x50);
            x51 = Vector256.FusedMultiplyAdd(s, b1, x51);
        }

        x00.Store(c0); x01.Store(c0 + 8);
        x10.Store(c1); x11.Store(c1 + 8);
        x20.Store(c2); x21.Store(c2 + 8);
        x30.Store(c3); x31.Store(c3 + 8);
        x40.Store(c4); x41.Store(c4 + 8);
        x50.Store(c5); x51.Store(c5 + 8);
    }

    /// <summary>
    /// C[6,8] += A[6,kc] · B[kc,8 of the packed 16] with 128-bit vectors, each element summed in order of k as in
    /// <see cref="Tile6x16"/>; fused multiply-add where the hardware has it (AdvSimd, FMA), multiply then add where not
    /// (its software fallback would cost more than the product).
    /// </summary>
    private static void Tile6x8(float* a, long aRow, long aDepth, float* b, float* c, int ldc, int kc)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2L * ldc, c3 = c + 3L * ldc, c4 = c + 4L * ldc, c5 = c + 5L * ldc;
        var x00 = Vector128.Load(c0); var x01 = Vector128.Load(c0 + 4);
        var x10 = Vector128.Load(c1); var x11 = Vector128.Load(c1 + 4);
        var x20 = Vector128.Load(c2); var x21 = Vector128.Load(c2 + 4);
        var x30 = Vector128.Load(c3); var x31 = Vector128.Load(c3 + 4);
        var x40 = Vector128.Load(c4); var x41 = Vector128.Load(c4 + 4);
        var x50 = Vector128.Load(c5); var x51 = Vector128.Load(c5 + 4);
        long r1 = aRow, r2 = 2 * aRow, r3 = 3 * aRow, r4 = 4 * aRow, r5 = 5 * aRow;
        bool fused = Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
        for (int kk = 0; kk < kc; kk++, a += aDepth, b += ColumnTile)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            if (fused)
            {
                var s = Vector128.Create(a[0]);
                x00 = Vector128.FusedMultiplyAdd(s, b0, x00); x01 = Vector128.FusedMultiplyAdd(s, b1, x01);
                s = Vector128.Create(a[r1]);
                x10 = Vector128.FusedMultiplyAdd(s, b0, x10); x11 = Vector128.FusedMultiplyAdd(s, b1, x11);
                s = Vector128.Create(a[r2]);
                x20 = Vector128.FusedMultiplyAdd(s, b0, x20); x21 = Vector128.FusedMultiplyAdd(s, b1, x21);
                s = Vector128.Create(a[r3]);
                x30 = Vector128.FusedMultiplyAdd(s, b0, x30); x31 = Vector128.FusedMultiplyAdd(s, b1, x31);
                s = Vector128.Create(a[r4]);
                x40 = Vector128.FusedMultiplyAdd(s, b0, x40); x41 = Vector128.FusedMultiplyAdd(s, b1, x41);
                s = Vector128.Create(a[r5]);
                x50 = Vector128.FusedMultiplyAdd(s, b0, x50); x51 = Vector128.FusedMultiplyAdd(s, b1, x51);
            }
            else
            {
                var s = Vector128.Create(a[0]);
                x00 += s * b0; x01 += s * b1;
                s = Vector128.Create(a[r1]);
                x10 += s * b0; x11 += s * b1;
                s = Vector128.Create(a[r2]);
                x20 += s * b0; x21 += s * b1;
                s = Vector128.Create(a[r3]);
                x30 += s * b0; x31 += s * b1;
                s = Vector128.Create(a[r4]);
                x40 += s * b0; x41 += s * b1;
                s = Vector128.Create(a[r5]);
                x50 += s * b0; x51 += s * b1;
            }
        }

        x00.Store(c0); x01.Store(c0 + 4);
        x10.Store(c1); x11.Store(c1 + 4);
        x20.Store(c2); x21.Store(c2 + 4);
        x30.Store(c3); x31.Store(c3 + 4);
        x40.Store(c4); x41.Store(c4 + 4);
        x50.Store(c5); x51.Store(c5 + 4);
    }
}
