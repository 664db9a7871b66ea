using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// Causal multi-head attention FlashAttention-2 style, with no (B,NH,T,T) tensor anywhere. Shapes: qkv (B,T,3C) with
/// q, k, v each (NH,hs), read in place; output (B,T,C); logSumExp (B,NH,T), log Σ_{t2≤t} exp(s[t,t2]) of the scaled
/// scores s = q·k/√hs. A group takes one (b, h) and a tile of rows (one thread per row: queries in the forward and the
/// dQ pass, keys in the dK/dV pass) and streams the other side through shared memory <see cref="Tile"/> rows at a
/// time. The forward keeps a running max and sum per query (online softmax) and rescales its output once per tile.
/// The backward is deterministic without atomics: D = rowsum(dO ⊙ O) first, then dK and dV with one owner per key
/// row, then dQ with one owner per query row, each recomputing the probabilities from the log-sum-exp.
/// </summary>
internal sealed class FlashAttention : IDisposable
{
    /// <summary>Rows of the streamed side held in shared memory at once.</summary>
    public const int Tile = 32;

    /// <summary>The largest head size the kernels hold (a row of q, k, v per thread, and tiles in shared memory).</summary>
    public const int MaxHeadSize = 128;

    private readonly int _rows;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _delta;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _keys;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> _queries;
    private readonly ScratchBuffer _scratch;

    public FlashAttention(Accelerator accelerator)
    {
        // a thread per row; 64 rows keep a (b, h) in several groups at T=1024 (the CPU accelerator's groups are smaller)
        _rows = Math.Min(64, accelerator.MaxNumThreadsPerGroup);
        _scratch = new ScratchBuffer(accelerator);
        _forward = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(ForwardKernel);
        _delta = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(DeltaKernel);
        _keys = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(KeysBackwardKernel);
        _queries = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(QueriesBackwardKernel);
    }

    /// <summary>
    /// One thread per query row t of one (b, h): o = Σ_{t2≤t} softmax(s)[t2]·v[t2] over key tiles in shared memory,
    /// with the running max m and sum l; writes o/l and m + log l.
    /// </summary>
    public static void ForwardKernel(ArrayView<float> qkv, ArrayView<float> output, ArrayView<float> logSumExp, AttentionArgs a)
    {
        var keys = SharedMemory.Allocate<float>(Tile * MaxHeadSize);   // (Tile, hs)
        var values = SharedMemory.Allocate<float>(Tile * MaxHeadSize); // (Tile, hs)
        var q = LocalMemory.Allocate<float>(MaxHeadSize);
        var o = LocalMemory.Allocate<float>(MaxHeadSize);
        var s = LocalMemory.Allocate<float>(Tile);
        var g = GroupRows.Of(a);
        int rows = Group.DimX, hs = a.HeadSize, c3 = 3 * a.C, bh = g.Bh, first = g.First, t = g.Row;
        bool active = t < a.T;
        long head = g.Head;
        for (int d = 0; d < hs; d++)
        {
            q[d] = active ? qkv[head + (long)t * c3 + d] * a.Scale : 0f;
            o[d] = 0f;
        }

        float m = float.NegativeInfinity, l = 0f;
        int end = Math.Min(a.T, first + rows); // the group's last query sees keys up to end - 1
        for (int k0 = 0; k0 < end; k0 += Tile)
        {
            LoadTile(qkv, keys, values, head + a.C, head + 2 * a.C, k0, a.T, hs, c3);
            Group.Barrier();
            if (active && k0 <= t)
            {
                int n = Math.Min(Tile, t - k0 + 1); // keys k0 … k0 + n - 1 are ≤ t
                float tileMax = float.NegativeInfinity;
                for (int j = 0; j < n; j++)
                {
                    float dot = 0f;
                    for (int d = 0; d < hs; d++)
                    {
                        dot += q[d] * keys[j * hs + d];
                    }

                    s[j] = dot;
                    tileMax = dot > tileMax ? dot : tileMax;
                }

                float mNew = tileMax > m ? tileMax : m;
                float rescale = MathF.Exp(m - mNew); // 0 on the first tile (m = -∞)
                l *= rescale;
                for (int d = 0; d < hs; d++)
                {
                    o[d] *= rescale;
                }

                for (int j = 0; j < n; j++)
                {
                    float p = MathF.Exp(s[j] - mNew);
                    l += p;
                    for (int d = 0; d < hs; d++)
                    {
                        o[d] += p * values[j * hs + d];
                    }
                }

                m = mNew;
            }

            Group.Barrier();
        }

        if (active)
        {
            float inv = 1f / l;
            long row = g.OutputHead + (long)t * a.C;
            for (int d = 0; d < hs; d++)
            {
                output[row + d] = o[d] * inv;
            }

            logSumExp[(long)bh * a.T + t] = m + MathF.Log(l);
        }
    }

    /// <summary>delta[b,h,t] = Σ_d dO[b,t,h,d]·O[b,t,h,d], the row term of the softmax backward: one thread per row.</summary>
    public static void DeltaKernel(Index1D index, ArrayView<float> dOutput, ArrayView<float> output, ArrayView<float> delta, AttentionArgs a)
    {
        int bh = index / a.T, t = index % a.T, hs = a.HeadSize;
        long row = (long)(bh / a.NH) * a.T * a.C + (long)t * a.C + bh % a.NH * hs;
        float sum = 0f;
        for (int d = 0; d < hs; d++)
        {
            sum += dOutput[row + d] * output[row + d];
        }

        delta[index] = sum;
    }

    /// <summary>
    /// One thread per key row t2 of one (b, h), over query tiles t ≥ t2 in shared memory: p = exp(s - lse[t]),
    /// dv += p·dO[t], ds = p·(dO[t]·v - delta[t]), dk += ds·q[t]/√hs; then adds dk and dv into dQkv.
    /// </summary>
    public static void KeysBackwardKernel(ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> logSumExp, ArrayView<float> delta,
        ArrayView<float> dQkv, AttentionArgs a)
    {
        var queries = SharedMemory.Allocate<float>(Tile * MaxHeadSize); // (Tile, hs), scaled by 1/√hs
        var dOut = SharedMemory.Allocate<float>(Tile * MaxHeadSize);    // (Tile, hs)
        var rowLse = SharedMemory.Allocate<float>(Tile);
        var rowDelta = SharedMemory.Allocate<float>(Tile);
        var k = LocalMemory.Allocate<float>(MaxHeadSize);
        var v = LocalMemory.Allocate<float>(MaxHeadSize);
        var dk = LocalMemory.Allocate<float>(MaxHeadSize);
        var dv = LocalMemory.Allocate<float>(MaxHeadSize);
        var g = GroupRows.Of(a);
        int rows = Group.DimX, hs = a.HeadSize, c3 = 3 * a.C, bh = g.Bh, first = g.First, t2 = g.Row;
        bool active = t2 < a.T;
        long head = g.Head, outHead = g.OutputHead;
        for (int d = 0; d < hs; d++)
        {
            k[d] = active ? qkv[head + a.C + (long)t2 * c3 + d] : 0f;
            v[d] = active ? qkv[head + 2 * a.C + (long)t2 * c3 + d] : 0f;
            dk[d] = 0f;
            dv[d] = 0f;
        }

        // queries before the group's first key see none of its keys
        for (int q0 = first / Tile * Tile; q0 < a.T; q0 += Tile)
        {
            for (int i = Group.IdxX; i < Tile * hs; i += rows)
            {
                int r = i / hs, d = i % hs, t = q0 + r;
                queries[i] = t < a.T ? qkv[head + (long)t * c3 + d] * a.Scale : 0f;
                dOut[i] = t < a.T ? dOutput[outHead + (long)t * a.C + d] : 0f;
            }

            for (int r = Group.IdxX; r < Tile; r += rows)
            {
                int t = q0 + r;
                rowLse[r] = t < a.T ? logSumExp[(long)bh * a.T + t] : 0f;
                rowDelta[r] = t < a.T ? delta[(long)bh * a.T + t] : 0f;
            }

            Group.Barrier();
            if (active)
            {
                int from = t2 > q0 ? t2 - q0 : 0, to = Math.Min(Tile, a.T - q0); // queries t2 … in this tile
                for (int r = from; r < to; r++)
                {
                    float score = 0f, dp = 0f;
                    for (int d = 0; d < hs; d++)
                    {
                        score += queries[r * hs + d] * k[d];
                        dp += dOut[r * hs + d] * v[d];
                    }

                    float p = MathF.Exp(score - rowLse[r]);
                    float ds = p * (dp - rowDelta[r]);
                    for (int d = 0; d < hs; d++)
                    {
                        dv[d] += p * dOut[r * hs + d];
                        dk[d] += ds * queries[r * hs + d];
                    }
                }
            }

            Group.Barrier();
        }

        if (active)
        {
            long row = head + (long)t2 * c3;
            for (int d = 0; d < hs; d++)
            {
                dQkv[row + a.C + d] += dk[d];
                dQkv[row + 2 * a.C + d] += dv[d];
            }
        }
    }

    /// <summary>
    /// One thread per query row t of one (b, h), over key tiles t2 ≤ t in shared memory: p = exp(s - lse[t]),
    /// ds = p·(dO[t]·v[t2] - delta[t]), dq += ds·k[t2]/√hs; then adds dq into dQkv.
    /// </summary>
    public static void QueriesBackwardKernel(ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> logSumExp, ArrayView<float> delta,
        ArrayView<float> dQkv, AttentionArgs a)
    {
        var keys = SharedMemory.Allocate<float>(Tile * MaxHeadSize);
        var values = SharedMemory.Allocate<float>(Tile * MaxHeadSize);
        var q = LocalMemory.Allocate<float>(MaxHeadSize);
        var dO = LocalMemory.Allocate<float>(MaxHeadSize);
        var dq = LocalMemory.Allocate<float>(MaxHeadSize);
        var g = GroupRows.Of(a);
        int hs = a.HeadSize, c3 = 3 * a.C, bh = g.Bh, first = g.First, t = g.Row;
        bool active = t < a.T;
        long head = g.Head, outRow = g.OutputHead + (long)t * a.C;
        for (int d = 0; d < hs; d++)
        {
            q[d] = active ? qkv[head + (long)t * c3 + d] * a.Scale : 0f;
            dO[d] = active ? dOutput[outRow + d] : 0f;
            dq[d] = 0f;
        }

        float lse = active ? logSumExp[(long)bh * a.T + t] : 0f;
        float rowDelta = active ? delta[(long)bh * a.T + t] : 0f;
        int end = Math.Min(a.T, first + Group.DimX);
        for (int k0 = 0; k0 < end; k0 += Tile)
        {
            LoadTile(qkv, keys, values, head + a.C, head + 2 * a.C, k0, a.T, hs, c3);
            Group.Barrier();
            if (active && k0 <= t)
            {
                int n = Math.Min(Tile, t - k0 + 1);
                for (int j = 0; j < n; j++)
                {
                    float score = 0f, dp = 0f;
                    for (int d = 0; d < hs; d++)
                    {
                        score += q[d] * keys[j * hs + d];
                        dp += dO[d] * values[j * hs + d];
                    }

                    float ds = MathF.Exp(score - lse) * (dp - rowDelta) * a.Scale;
                    for (int d = 0; d < hs; d++)
                    {
                        dq[d] += ds * keys[j * hs + d];
                    }
                }
            }

            Group.Barrier();
        }

        if (active)
        {
            long row = head + (long)t * c3;
            for (int d = 0; d < hs; d++)
            {
                dQkv[row + d] += dq[d];
            }
        }
    }

    public void Forward(AcceleratorStream s, ArrayView<float> qkv, ArrayView<float> output, ArrayView<float> logSumExp, int b, int t, int c, int nh) =>
        _forward(s, Launch(b, t, nh), qkv, output, logSumExp, Args(b, t, c, nh));

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> qkv, ArrayView<float> output, ArrayView<float> logSumExp,
        ArrayView<float> dQkv, int b, int t, int c, int nh)
    {
        var args = Args(b, t, c, nh);
        var delta = _scratch.View((long)b * nh * t);
        _delta(s, Checked.Size((long)b * nh * t), dOutput, output, delta, args);
        _keys(s, Launch(b, t, nh), dOutput, qkv, logSumExp, delta, dQkv, args);
        _queries(s, Launch(b, t, nh), dOutput, qkv, logSumExp, delta, dQkv, args);
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>Keys and values k0 … k0 + Tile - 1 of one head into shared memory, zero past T; every thread of the group takes part.</summary>
    private static void LoadTile(ArrayView<float> qkv, ArrayView<float> keys, ArrayView<float> values, long keyHead, long valueHead,
        int k0, int t, int hs, int c3)
    {
        for (int i = Group.IdxX; i < Tile * hs; i += Group.DimX)
        {
            int key = k0 + i / hs, d = i % hs;
            keys[i] = key < t ? qkv[keyHead + (long)key * c3 + d] : 0f;
            values[i] = key < t ? qkv[valueHead + (long)key * c3 + d] : 0f;
        }
    }

    /// <summary>Where a group works: its (b, h), its first row and this thread's, and where the head starts in qkv and in the output.</summary>
    private struct GroupRows
    {
        public int Bh, First, Row;
        public long Head;       // qkv[b, 0, h·hs]
        public long OutputHead; // output[b, 0, h·hs]

        public static GroupRows Of(AttentionArgs a)
        {
            int rows = Group.DimX, tiles = (a.T + rows - 1) / rows, bh = Grid.IdxX / tiles, first = Grid.IdxX % tiles * rows;
            long b = bh / a.NH, h = bh % a.NH;
            return new GroupRows
            {
                Bh = bh, First = first, Row = first + Group.IdxX,
                Head = b * a.T * 3 * a.C + h * a.HeadSize, OutputHead = b * a.T * a.C + h * a.HeadSize,
            };
        }
    }

    private KernelConfig Launch(int b, int t, int nh) => new(Checked.Size((long)b * nh * ((t + _rows - 1) / _rows)), _rows);

    private static AttentionArgs Args(int b, int t, int c, int nh) =>
        new() { B = b, T = t, C = c, NH = nh, HeadSize = c / nh, Scale = 1f / MathF.Sqrt(c / nh) };
}
