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
/// attention (B,NH,T,T), softmax rows, zero above the diagonal. The backward keeps every output element with one
/// owner thread (keys and values sum over later queries themselves), so it needs no atomics and is deterministic.
/// </summary>
internal sealed class Attention : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly LaunchShape _shape;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, AttentionArgs> _scores;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _values;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _dAttention;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, AttentionArgs> _dScores;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _dQuery;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _dKeyValue;
    private MemoryBuffer1D<float, Stride1D.Dense>? _scratch;

    public Attention(Accelerator accelerator, LaunchShape shape)
    {
        _accelerator = accelerator;
        _shape = shape;
        _scores = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, AttentionArgs>(ScoresKernel);
        _values = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(ValuesKernel);
        _dAttention = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(DAttentionKernel);
        _dScores = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, AttentionArgs>(DScoresKernel);
        _dQuery = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(DQueryKernel);
        _dKeyValue = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(DKeyValueKernel);
    }

    /// <summary>One warp per (b, h, t) row: scaled scores for t2 ≤ t, then the softmax in place (max subtracted for range only).</summary>
    public static void ScoresKernel(ArrayView<float> qkv, ArrayView<float> attention, AttentionArgs a)
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= a.B * a.NH * a.T)
        {
            return;
        }

        int t = row % a.T, h = row / a.T % a.NH, b = row / (a.T * a.NH);
        long c3 = 3L * a.C;
        long q = (b * (long)a.T + t) * c3 + h * a.HeadSize;
        long att = (long)row * a.T;
        float max = float.NegativeInfinity;
        for (int t2 = Warp.LaneIdx; t2 <= t; t2 += Warp.WarpSize)
        {
            long k = (b * (long)a.T + t2) * c3 + a.C + h * a.HeadSize;
            float dot = 0f;
            for (int i = 0; i < a.HeadSize; i++)
            {
                dot += qkv[q + i] * qkv[k + i];
            }

            float score = dot * a.Scale;
            attention[att + t2] = score;
            max = score > max ? score : max;
        }

        max = Reduce.WarpMax(max);
        float sum = 0f;
        for (int t2 = Warp.LaneIdx; t2 <= t; t2 += Warp.WarpSize)
        {
            float e = MathF.Exp(attention[att + t2] - max);
            attention[att + t2] = e;
            sum += e;
        }

        float inv = 1f / Reduce.WarpSum(sum);
        for (int t2 = Warp.LaneIdx; t2 < a.T; t2 += Warp.WarpSize)
        {
            attention[att + t2] = t2 <= t ? attention[att + t2] * inv : 0f;
        }
    }

    /// <summary>One thread per output element (b, t, h, i): Σ t2≤t att·v.</summary>
    public static void ValuesKernel(Index1D idx, ArrayView<float> qkv, ArrayView<float> attention, ArrayView<float> output, AttentionArgs a)
    {
        int ch = idx % a.C, t = idx / a.C % a.T, b = idx / (a.C * a.T);
        int h = ch / a.HeadSize;
        long att = ((b * (long)a.NH + h) * a.T + t) * a.T;
        long v = b * (long)a.T * 3 * a.C + 2 * a.C + ch;
        float sum = 0f;
        for (int t2 = 0; t2 <= t; t2++)
        {
            sum += attention[att + t2] * qkv[v + t2 * 3L * a.C];
        }

        output[idx] = sum;
    }

    /// <summary>One thread per (b, h, t, t2): dAtt = v_t2 · dOut_t for t2 ≤ t.</summary>
    public static void DAttentionKernel(Index1D idx, ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> dAttention, AttentionArgs a)
    {
        int t2 = idx % a.T, t = idx / a.T % a.T, h = idx / (a.T * a.T) % a.NH, b = idx / (a.T * a.T * a.NH);
        if (t2 > t)
        {
            dAttention[idx] = 0f;
            return;
        }

        long d = (b * (long)a.T + t) * a.C + h * a.HeadSize;
        long v = (b * (long)a.T + t2) * 3L * a.C + 2 * a.C + h * a.HeadSize;
        float dot = 0f;
        for (int i = 0; i < a.HeadSize; i++)
        {
            dot += qkv[v + i] * dOutput[d + i];
        }

        dAttention[idx] = dot;
    }

    /// <summary>One warp per row: dScore = att ⊙ (dAtt − Σ att·dAtt) · scale, in place over dAtt (linear in T).</summary>
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
        for (int t2 = Warp.LaneIdx; t2 <= t; t2 += Warp.WarpSize)
        {
            dAttention[r + t2] = attention[r + t2] * (dAttention[r + t2] - w) * a.Scale;
        }
    }

    /// <summary>One thread per query element: dq += Σ t2≤t dScore·k.</summary>
    public static void DQueryKernel(Index1D idx, ArrayView<float> qkv, ArrayView<float> dScores, ArrayView<float> dQkv, AttentionArgs a)
    {
        int ch = idx % a.C, t = idx / a.C % a.T, b = idx / (a.C * a.T);
        int h = ch / a.HeadSize;
        long s = ((b * (long)a.NH + h) * a.T + t) * a.T;
        long k = b * (long)a.T * 3 * a.C + a.C + ch;
        float sum = 0f;
        for (int t2 = 0; t2 <= t; t2++)
        {
            sum += dScores[s + t2] * qkv[k + t2 * 3L * a.C];
        }

        dQkv[(b * (long)a.T + t) * 3 * a.C + ch] += sum;
    }

    /// <summary>One thread per key/value element of position t2: dk += Σ t≥t2 dScore·q and dv += Σ t≥t2 att·dOut.</summary>
    public static void DKeyValueKernel(Index1D idx, ArrayView<float> qkv, ArrayView<float> attention, ArrayView<float> dScores,
        ArrayView<float> dOutput, ArrayView<float> dQkv, AttentionArgs a)
    {
        int ch = idx % a.C, t2 = idx / a.C % a.T, b = idx / (a.C * a.T);
        int h = ch / a.HeadSize;
        long rows = (b * (long)a.NH + h) * a.T;
        float dk = 0f, dv = 0f;
        for (int t = t2; t < a.T; t++)
        {
            long at = (rows + t) * a.T + t2;
            long pos = b * (long)a.T + t;
            dk += dScores[at] * qkv[pos * 3 * a.C + ch];
            dv += attention[at] * dOutput[pos * a.C + ch];
        }

        long out2 = (b * (long)a.T + t2) * 3 * a.C;
        dQkv[out2 + a.C + ch] += dk;
        dQkv[out2 + 2 * a.C + ch] += dv;
    }

    public void Forward(AcceleratorStream s, ArrayView<float> qkv, ArrayView<float> output, ArrayView<float> attention, int b, int t, int c, int nh)
    {
        var args = Args(b, t, c, nh);
        _scores(s, _shape.WarpPerRow((long)b * nh * t), qkv, attention, args);
        _values(s, Checked.Size((long)b * t * c), qkv, attention, output, args);
    }

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> attention, ArrayView<float> dQkv,
        int b, int t, int c, int nh)
    {
        var args = Args(b, t, c, nh);
        long n = (long)b * nh * t * t;
        var dScores = Scratch(n);
        _dAttention(s, Checked.Size(n), dOutput, qkv, dScores, args);
        _dScores(s, _shape.WarpPerRow((long)b * nh * t), attention, dScores, args);
        _dQuery(s, Checked.Size((long)b * t * c), qkv, dScores, dQkv, args);
        _dKeyValue(s, Checked.Size((long)b * t * c), qkv, attention, dScores, dOutput, dQkv, args);
    }

    public void Dispose() => _scratch?.Dispose();

    private static AttentionArgs Args(int b, int t, int c, int nh) =>
        new() { B = b, T = t, C = c, NH = nh, HeadSize = c / nh, Scale = 1f / MathF.Sqrt(c / nh) };

    private ArrayView<float> Scratch(long length)
    {
        if (_scratch is null || _scratch.Length < length)
        {
            _accelerator.Synchronize();
            _scratch?.Dispose();
            _scratch = _accelerator.Allocate1D<float>(length);
        }

        return _scratch.View.SubView(0, length);
    }
}
