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
/// attention (B,NH,T,T), softmax rows, zero above the diagonal. The six products (<see cref="AttentionProducts"/>) run on
/// the tiled GEMM kernel batched over (b, h), skipping what the causal mask makes zero, or densely on cuBLAS with a
/// cuBLAS engine (the softmax passes leave the masked entries zero); the two softmax passes are one warp per row.
/// Every output element has one owner, so there are no atomics.
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
        var p = new AttentionProducts(t, c, nh);
        _gemm.Batched(s, qkv, Skip(qkv, c), attention, p.Scores(args.Scale), b * nh);
        _softmax(s, _shape.WarpPerRow((long)b * nh * t), attention, args);
        _gemm.Batched(s, attention, Skip(qkv, 2 * c), output, p.Values(), b * nh);
    }

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> attention, ArrayView<float> dQkv,
        int b, int t, int c, int nh)
    {
        var args = Args(b, t, c, nh);
        var p = new AttentionProducts(t, c, nh);
        var dScores = _scratch.View((long)b * nh * t * t);
        _gemm.Batched(s, dOutput, Skip(qkv, 2 * c), dScores, p.DAttention(), b * nh);
        _dScores(s, _shape.WarpPerRow((long)b * nh * t), attention, dScores, args);
        _gemm.Batched(s, dScores, Skip(qkv, c), dQkv, p.DQuery(), b * nh);
        _gemm.Batched(s, dScores, qkv, Skip(dQkv, c), p.DKey(), b * nh);
        _gemm.Batched(s, attention, dOutput, Skip(dQkv, 2 * c), p.DValue(), b * nh);
    }

    public void Dispose() => _scratch.Dispose();

    private static ArrayView<float> Skip(ArrayView<float> view, long offset) => view.SubView(offset, view.Length - offset);

    private static AttentionArgs Args(int b, int t, int c, int nh) =>
        new() { B = b, T = t, C = c, NH = nh, HeadSize = c / nh, Scale = 1f / MathF.Sqrt(c / nh) };
}
