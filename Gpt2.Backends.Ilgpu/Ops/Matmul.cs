using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// The operand layout of a (batched) GEMM: C[m,n] (+)= α·Σk A[m,k]·B[k,n] (+ bias[n]), with A, B and C read through
/// strides. Batch z = (b, h) of Batches = B·Heads offsets each operand by b·Batch* + h·Head*.
/// </summary>
internal struct GemmArgs
{
    public int M, N, K;
    public long StrideAM, StrideAK, StrideBK, StrideBN, StrideCM;
    public int Accumulate, HasBias;
    public float Alpha;
    public int Heads;
    public long BatchA, HeadA, BatchB, HeadB, BatchC, HeadC;
    public int Causal;

    /// <summary>Dense operands.</summary>
    public const int Dense = 0;

    /// <summary>Only C[m,n] with n ≤ m is needed: tiles wholly above the diagonal are skipped (left unwritten).</summary>
    public const int LowerC = 1;

    /// <summary>A[m,k] is zero for k &gt; m (causal attention rows): K stops at the tile's last row, and those entries read as 0.</summary>
    public const int LowerA = 2;

    /// <summary>A[m,k] is zero for k &lt; m (transposed causal rows): K starts at the tile's first row, and those entries read as 0.</summary>
    public const int UpperA = 3;
}

/// <summary>
/// Matmul forward and backward on the shared-memory tiled GEMM kernel, or on cuBLAS. Shapes: input (rows,C),
/// weight (OC,C), bias (OC), output (rows,OC). One kernel covers all three products through strides:
/// output = input·Wᵀ, dInput += dOutput·W, dWeight += dOutputᵀ·input.
/// </summary>
internal sealed class Matmul
{
    /// <summary>Depth of a K tile.</summary>
    public const int TileK = 16;

    /// <summary>Largest M or N tile: 16 threads × 4 outputs.</summary>
    public const int MaxTile = 64;

    private readonly LaunchShape _shape;
    private readonly ColumnSum _columns;
    private readonly CuBlas.CuBlasMatmul? _cublas;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs> _gemm;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int> _addBias;

    public Matmul(Accelerator accelerator, LaunchShape shape, ColumnSum columns, CuBlas.CuBlasMatmul? cublas)
    {
        _shape = shape;
        _columns = columns;
        _cublas = cublas;
        _gemm = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernel);
        _addBias = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(AddBiasKernel);
    }

    /// <summary>
    /// A (TY·4)×(TX·4) output tile per group of TX×TY threads; each thread owns a 4×4 block strided by the group
    /// size so that shared-memory reads are conflict free. K advances in tiles of <see cref="TileK"/>.
    /// </summary>
    public static void GemmKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, GemmArgs g)
    {
        var sa = SharedMemory.Allocate<float>(TileK * MaxTile); // [kk, mm]
        var sb = SharedMemory.Allocate<float>(TileK * MaxTile); // [kk, nn]
        int tx = Group.IdxX, ty = Group.IdxY, dx = Group.DimX, dy = Group.DimY;
        int tileM = dy * 4, tileN = dx * 4;
        int m0 = Grid.IdxY * tileM, n0 = Grid.IdxX * tileN;
        if (g.Causal == GemmArgs.LowerC && n0 > m0 + tileM - 1)
        {
            return; // the whole group leaves before any barrier
        }

        int tid = ty * dx + tx, threads = dx * dy;
        int zb = Grid.IdxZ / g.Heads, zh = Grid.IdxZ % g.Heads;
        long offsetA = zb * g.BatchA + zh * g.HeadA, offsetB = zb * g.BatchB + zh * g.HeadB, offsetC = zb * g.BatchC + zh * g.HeadC;
        int kBegin = g.Causal == GemmArgs.UpperA ? m0 / TileK * TileK : 0;
        int kEnd = g.Causal == GemmArgs.LowerA && m0 + tileM < g.K ? m0 + tileM : g.K;
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int k0 = kBegin; k0 < kEnd; k0 += TileK)
        {
            // load with the unit-stride index fastest, so that neighbouring threads read neighbouring addresses
            for (int idx = tid; idx < tileM * TileK; idx += threads)
            {
                int mm = g.StrideAM == 1 ? idx % tileM : idx / TileK;
                int kk = g.StrideAM == 1 ? idx / tileM : idx % TileK;
                int m = m0 + mm, k = k0 + kk;
                bool inside = m < g.M && k < g.K
                    && !(g.Causal == GemmArgs.LowerA && k > m) && !(g.Causal == GemmArgs.UpperA && k < m);
                sa[kk * tileM + mm] = inside ? a[offsetA + m * g.StrideAM + k * g.StrideAK] : 0f;
            }

            for (int idx = tid; idx < tileN * TileK; idx += threads)
            {
                int nn = g.StrideBN == 1 ? idx % tileN : idx / TileK;
                int kk = g.StrideBN == 1 ? idx / tileN : idx % TileK;
                int n = n0 + nn, k = k0 + kk;
                sb[kk * tileN + nn] = n < g.N && k < g.K ? b[offsetB + k * g.StrideBK + n * g.StrideBN] : 0f;
            }

            Group.Barrier();
            for (int kk = 0; kk < TileK; kk++)
            {
                int ra = kk * tileM + ty, rb = kk * tileN + tx;
                float a0 = sa[ra], a1 = sa[ra + dy], a2 = sa[ra + 2 * dy], a3 = sa[ra + 3 * dy];
                float b0 = sb[rb], b1 = sb[rb + dx], b2 = sb[rb + 2 * dx], b3 = sb[rb + 3 * dx];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }

            Group.Barrier();
        }

        int r = m0 + ty, q = n0 + tx;
        Store(c, bias, g, offsetC, r, q, dx, c00, c01, c02, c03);
        Store(c, bias, g, offsetC, r + dy, q, dx, c10, c11, c12, c13);
        Store(c, bias, g, offsetC, r + 2 * dy, q, dx, c20, c21, c22, c23);
        Store(c, bias, g, offsetC, r + 3 * dy, q, dx, c30, c31, c32, c33);
    }

    private static void Store(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, long offsetC, int m, int n, int dx, float v0, float v1, float v2, float v3)
    {
        if (m >= g.M)
        {
            return;
        }

        Store(c, bias, g, offsetC, m, n, v0);
        Store(c, bias, g, offsetC, m, n + dx, v1);
        Store(c, bias, g, offsetC, m, n + 2 * dx, v2);
        Store(c, bias, g, offsetC, m, n + 3 * dx, v3);
    }

    private static void Store(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, long offsetC, int m, int n, float v)
    {
        if (n >= g.N)
        {
            return;
        }

        long at = offsetC + m * g.StrideCM + n;
        v *= g.Alpha;
        if (g.HasBias != 0)
        {
            v += bias[n];
        }

        c[at] = g.Accumulate != 0 ? c[at] + v : v;
    }

    public static void AddBiasKernel(Index1D i, ArrayView<float> output, ArrayView<float> bias, int oc) => output[i] += bias[i % oc];

    public void Forward(AcceleratorStream s, ArrayView<float> input, ArrayView<float> weight, ArrayView<float>? bias, ArrayView<float> output, int rows, int c, int oc)
    {
        if (_cublas is not null)
        {
            _cublas.Forward(s, input, weight, output, rows, c, oc);
            if (bias is { } b)
            {
                _addBias(s, Checked.Size((long)rows * oc), output, b, oc);
            }

            return;
        }

        var args = new GemmArgs
        {
            M = rows, N = oc, K = c, StrideAM = c, StrideAK = 1, StrideBK = 1, StrideBN = c, StrideCM = oc,
            Accumulate = 0, HasBias = bias is null ? 0 : 1, Alpha = 1f, Heads = 1,
        };
        _gemm(s, Config(rows, oc, 1), input, weight, output, bias ?? output, args);
    }

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> dInput, ArrayView<float> dWeight, ArrayView<float>? dBias, int rows, int c, int oc)
    {
        if (_cublas is not null)
        {
            _cublas.Backward(s, dOutput, input, weight, dInput, dWeight, rows, c, oc);
        }
        else
        {
            var dx = new GemmArgs
            {
                M = rows, N = c, K = oc, StrideAM = oc, StrideAK = 1, StrideBK = c, StrideBN = 1, StrideCM = c, Accumulate = 1,
                Alpha = 1f, Heads = 1,
            };
            _gemm(s, Config(rows, c, 1), dOutput, weight, dInput, dInput, dx);
            var dw = new GemmArgs
            {
                M = oc, N = c, K = rows, StrideAM = 1, StrideAK = oc, StrideBK = c, StrideBN = 1, StrideCM = c, Accumulate = 1,
                Alpha = 1f, Heads = 1,
            };
            _gemm(s, Config(oc, c, 1), dOutput, input, dWeight, dWeight, dw);
        }

        if (dBias is { } db)
        {
            _columns.Accumulate(s, dOutput, db, rows, oc);
        }
    }

    /// <summary>Runs a batched GEMM of <paramref name="batches"/> = B·Heads problems (attention's per-head products).</summary>
    /// <remarks>
    /// On cuBLAS the products are dense (strided-batched calls), which needs the zeros the causal mask implies to be in
    /// memory, as attention's softmax kernels leave them; the ILGPU kernel skips those tiles instead.
    /// </remarks>
    public void Batched(AcceleratorStream s, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs args, int batches)
    {
        if (_cublas is not null)
        {
            _cublas.Batched(a, b, c, args, batches);
            return;
        }

        _gemm(s, Config(args.M, args.N, batches), a, b, c, c, args);
    }

    private KernelConfig Config(int m, int n, int batches)
    {
        int t = _shape.TileThreads, tile = 4 * t;
        return new KernelConfig(new Index3D((n + tile - 1) / tile, (m + tile - 1) / tile, batches), new Index3D(t, t, 1));
    }
}
