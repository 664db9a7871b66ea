namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// The six batched products of causal attention, per (b, h) batch, as <see cref="GemmArgs"/>. Operands are views of
/// qkv (B,T,3C) starting at q (offset 0), k (offset C) or v (offset 2C), of the attention/score matrices (B,NH,T,T),
/// or of a (B,T,C) tensor; the comment on each product says which.
/// </summary>
internal readonly struct AttentionProducts(int t, int c, int nh)
{
    private int Hs => c / nh;

    /// <summary>q, k or v (after its offset) as (t, i) rows: row stride 3C.</summary>
    private (long M, long K, long Batch, long Head) QkvRows => (3L * c, 1, (long)t * 3 * c, Hs);

    /// <summary>k or v (after its offset) as an (i, t2) matrix: the transpose of its rows.</summary>
    private (long M, long K, long Batch, long Head) QkvColumns => (1, 3L * c, (long)t * 3 * c, Hs);

    /// <summary>A (t, t2) matrix of (B, NH, T, T).</summary>
    private (long M, long K, long Batch, long Head) Square => (t, 1, (long)nh * t * t, (long)t * t);

    /// <summary>The transpose of a (B, NH, T, T) matrix: element (t2, t) at [t, t2].</summary>
    private (long M, long K, long Batch, long Head) SquareTransposed => (1, t, (long)nh * t * t, (long)t * t);

    /// <summary>The (t, i) head slice of a (B, T, C) tensor.</summary>
    private (long M, long K, long Batch, long Head) HeadSlice => (c, 1, (long)t * c, Hs);

    /// <summary>scores (t, t2) = scale · q_t · k_t2, lower triangle only. A: qkv at q; B: qkv at k; C: scores.</summary>
    public GemmArgs Scores(float scale) => Product(t, t, Hs, QkvRows, QkvColumns, Square, scale, GemmArgs.LowerC, false);

    /// <summary>out (t, i) = Σ t2≤t att · v. A: attention; B: qkv at v; C: output (B,T,C).</summary>
    public GemmArgs Values() => Product(t, Hs, t, Square, QkvRows, HeadSlice, 1f, GemmArgs.LowerA, false);

    /// <summary>dAtt (t, t2) = dOut_t · v_t2 (lower triangle). A: dOutput; B: qkv at v; C: score scratch.</summary>
    public GemmArgs DAttention() => Product(t, t, Hs, HeadSlice, QkvColumns, Square, 1f, GemmArgs.LowerC, false);

    /// <summary>dq += dS · k. A: dScores; B: qkv at k; C: dQkv at q.</summary>
    public GemmArgs DQuery() => Product(t, Hs, t, Square, QkvRows, QkvRows, 1f, GemmArgs.LowerA, true);

    /// <summary>dk += dSᵀ · q. A: dScores; B: qkv at q; C: dQkv at k.</summary>
    public GemmArgs DKey() => Product(t, Hs, t, SquareTransposed, QkvRows, QkvRows, 1f, GemmArgs.UpperA, true);

    /// <summary>dv += attᵀ · dOut. A: attention; B: dOutput; C: dQkv at v.</summary>
    public GemmArgs DValue() => Product(t, Hs, t, SquareTransposed, HeadSlice, QkvRows, 1f, GemmArgs.UpperA, true);

    private GemmArgs Product(int m, int n, int k, (long M, long K, long Batch, long Head) a, (long K, long N, long Batch, long Head) b,
        (long M, long N, long Batch, long Head) output, float alpha, int causal, bool accumulate)
    {
        if (output.N != 1)
        {
            throw new InvalidOperationException("The GEMM output must have unit column stride.");
        }

        return new GemmArgs
        {
            M = m, N = n, K = k,
            StrideAM = a.M, StrideAK = a.K, BatchA = a.Batch, HeadA = a.Head,
            StrideBK = b.K, StrideBN = b.N, BatchB = b.Batch, HeadB = b.Head,
            StrideCM = output.M, BatchC = output.Batch, HeadC = output.Head,
            Alpha = alpha, Heads = nh, Causal = causal, Accumulate = accumulate ? 1 : 0,
        };
    }
}
