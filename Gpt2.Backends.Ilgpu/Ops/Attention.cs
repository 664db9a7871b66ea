using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>The sizes of one attention call.</summary>
internal struct AttentionArgs
{
    public int B, T, C, NH, HeadSize;
    public float Scale;
}

/// <summary>
/// Causal multi-head attention. Shapes: qkv (B,T,3C) with q, k, v each (NH,hs); output (B,T,C);
/// attention (B,NH,T,T), softmax rows, zero above the diagonal. The five products (scores, values, and the three
/// gradients) run on the tiled GEMM kernel batched over (b, h), skipping what the causal mask makes zero; the two
/// softmax passes are one warp per row. Every output element has one owner, so there are no atomics.
/// </summary>
internal sealed class Attention : IDisposable
{
    private readonly LaunchShape _shape;
    private readonly Matmul _gemm;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, AttentionArgs> _softmax;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, AttentionArgs> _dScores;
    private readonly ScratchBuffer _scratch;

    public Attention(Accelerator accelerator, LaunchShape shape, Matmul gemm)
    {
        _scratch = new ScratchBuffer(accelerator);
        _shape = shape;
        _gemm = gemm;
        _softmax = accelerator.LoadKernel<ArrayView<float>, AttentionArgs>(SoftmaxKernel);
        _dScores = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, AttentionArgs>(DScoresKernel);
    }

    /// <summary>One warp per (b, h, t) row of scaled scores: softmax over t2 ≤ t in place (max subtracted for range only), zeros after.</summary>
    public static void SoftmaxKernel(ArrayView<float> attention, AttentionArgs a)
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= a.B * a.NH * a.T)
        {
            return;
        }

        int t = row % a.T;
        long r = (long)row * a.T;
        float max = float.NegativeInfinity;
        for (int t2 = Warp.LaneIdx; t2 <= t; t2 += Warp.WarpSize)
        {
            float x = attention[r + t2];
            max = x > max ? x : max;
        }

        max = Reduce.WarpMax(max);
        float sum = 0f;
        for (int t2 = Warp.LaneIdx; t2 <= t; t2 += Warp.WarpSize)
        {
            float e = MathF.Exp(attention[r + t2] - max);
            attention[r + t2] = e;
            sum += e;
        }

        float inv = 1f / Reduce.WarpSum(sum);
        for (int t2 = Warp.LaneIdx; t2 < a.T; t2 += Warp.WarpSize)
        {
            attention[r + t2] = t2 <= t ? attention[r + t2] * inv : 0f;
        }
    }

    /// <summary>
    /// One warp per row: dScore = att ⊙ (dAtt − Σ att·dAtt) · scale, in place over dAtt (linear in T); zeros above the
    /// diagonal, which the GEMM skipped, so the scratch never holds stale values.
    /// </summary>
    public static void DScoresKernel(ArrayView<float> attention, ArrayView<float> dAttention, AttentionArgs a)
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= a.B * a.NH * a.T)
        {
            return;
        }

        int t = row % a.T;
        long r = (long)row * a.T;
        float w = 0f;
        for (int t2 = Warp.LaneIdx; t2 <= t; t2 += Warp.WarpSize)
        {
            w += attention[r + t2] * dAttention[r + t2];
        }

        w = Reduce.WarpSum(w);
        for (int t2 = Warp.LaneIdx; t2 < a.T; t2 += Warp.WarpSize)
        {
            dAttention[r + t2] = t2 <= t ? attention[r + t2] * (dAttention[r + t2] - w) * a.Scale : 0f;
        }
    }

    public void Forward(AcceleratorStream s, ArrayView<float> qkv, ArrayView<float> output, ArrayView<float> attention, int b, int t, int c, int nh)
    {
        var args = Args(b, t, c, nh);
        var l = new Layout(t, c, nh);
        // scores (t, t2) = q_t · k_t2 · scale, lower triangle only
        _gemm.Batched(s, qkv, Skip(qkv, c), attention, l.Product(t, t, l.Hs, l.Q, l.KTransposed, l.Scores, args.Scale, GemmArgs.LowerC, accumulate: false), b * nh);
        _softmax(s, _shape.WarpPerRow((long)b * nh * t), attention, args);
        // output (t, i) = Σ t2≤t att · v
        _gemm.Batched(s, attention, Skip(qkv, 2 * c), output, l.Product(t, l.Hs, t, l.Rows, l.V, l.Out, 1f, GemmArgs.LowerA, accumulate: false), b * nh);
    }

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> attention, ArrayView<float> dQkv,
        int b, int t, int c, int nh)
    {
        var args = Args(b, t, c, nh);
        var l = new Layout(t, c, nh);
        var dScores = _scratch.View((long)b * nh * t * t);
        // dAtt (t, t2) = dOut_t · v_t2, then the softmax backward in place
        _gemm.Batched(s, dOutput, Skip(qkv, 2 * c), dScores, l.Product(t, t, l.Hs, l.DOut, l.VTransposed, l.Scores, 1f, GemmArgs.LowerC, accumulate: false), b * nh);
        _dScores(s, _shape.WarpPerRow((long)b * nh * t), attention, dScores, args);
        // dq += dS · k ; dk += dSᵀ · q ; dv += attᵀ · dOut
        _gemm.Batched(s, dScores, Skip(qkv, c), dQkv, l.Product(t, l.Hs, t, l.Rows, l.V, l.DQkv, 1f, GemmArgs.LowerA, accumulate: true), b * nh);
        _gemm.Batched(s, dScores, qkv, Skip(dQkv, c), l.Product(t, l.Hs, t, l.RowsTransposed, l.V, l.DQkv, 1f, GemmArgs.UpperA, accumulate: true), b * nh);
        _gemm.Batched(s, attention, dOutput, Skip(dQkv, 2 * c), l.Product(t, l.Hs, t, l.RowsTransposed, l.DOutRows, l.DQkv, 1f, GemmArgs.UpperA, accumulate: true), b * nh);
    }

    public void Dispose() => _scratch.Dispose();

    private static ArrayView<float> Skip(ArrayView<float> view, long offset) => view.SubView(offset, view.Length - offset);

    private static AttentionArgs Args(int b, int t, int c, int nh) =>
        new() { B = b, T = t, C = c, NH = nh, HeadSize = c / nh, Scale = 1f / MathF.Sqrt(c / nh) };


    /// <summary>Strides of attention's operands, per (b, h) batch: (row stride, column stride, batch stride, head stride).</summary>
    private readonly struct Layout(int t, int c, int nh)
    {
        public int Hs => c / nh;

        /// <summary>q (or k, v after a Skip) as a (t, i) matrix in qkv.</summary>
        public (long, long, long, long) Q => (3L * c, 1, (long)t * 3 * c, Hs);

        /// <summary>k as an (i, t2) matrix: the transpose of its rows.</summary>
        public (long, long, long, long) KTransposed => (1, 3L * c, (long)t * 3 * c, Hs);

        /// <summary>v read as a (t2, i) matrix.</summary>
        public (long, long, long, long) V => Q;

        /// <summary>v as an (i, t2) matrix.</summary>
        public (long, long, long, long) VTransposed => KTransposed;

        /// <summary>A (t, t2) matrix of (B, NH, T, T).</summary>
        public (long, long, long, long) Scores => ((long)t, 1, (long)nh * t * t, (long)t * t);

        /// <summary>Rows of a (B, NH, T, T) matrix as the left operand.</summary>
        public (long, long, long, long) Rows => Scores;

        /// <summary>The transpose of a (B, NH, T, T) matrix as the left operand: element (t2, t) at [t, t2].</summary>
        public (long, long, long, long) RowsTransposed => (1, (long)t, (long)nh * t * t, (long)t * t);

        /// <summary>The (t, i) head slice of a (B, T, C) tensor.</summary>
        public (long, long, long, long) Out => ((long)c, 1, (long)t * c, Hs);

        /// <summary>dOut as the left (t, i) operand.</summary>
        public (long, long, long, long) DOut => Out;

        /// <summary>dOut as the right (t, i) operand.</summary>
        public (long, long, long, long) DOutRows => Out;

        /// <summary>A (t, i) head slice of dQkv (B, T, 3C), after a Skip to q, k or v.</summary>
        public (long, long, long, long) DQkv => Q;

        public GemmArgs Product(int m, int n, int k, (long M, long K, long Batch, long Head) a, (long K, long N, long Batch, long Head) bOp,
            (long M, long N, long Batch, long Head) cOp, float alpha, int causal, bool accumulate)
        {
            if (cOp.N != 1)
            {
                throw new InvalidOperationException("The GEMM output must have unit column stride.");
            }

            return new GemmArgs
            {
                M = m, N = n, K = k,
                StrideAM = a.M, StrideAK = a.K, BatchA = a.Batch, HeadA = a.Head,
                StrideBK = bOp.K, StrideBN = bOp.N, BatchB = bOp.Batch, HeadB = bOp.Head,
                StrideCM = cOp.M, BatchC = cOp.Batch, HeadC = cOp.Head,
                Alpha = alpha, Heads = nh, Causal = causal, Accumulate = accumulate ? 1 : 0,
            };
        }
    }
}
