using Gpt2.Backends.Ilgpu.Ops;

namespace Gpt2.Backends.Ilgpu.CuBlas;

/// <summary>
/// A row-major batched <see cref="GemmArgs"/> product as column-major cuBLAS calls. cuBLAS sees a row-major matrix
/// as its transpose, so C = A·B becomes Cᵀ = Bᵀ·Aᵀ: B is cuBLAS's first operand and A its second, each read as it lies
/// (<see cref="CuBlasNative.OpN"/>) when its unit stride runs along K, else transposed. The (b, h) batches become
/// <see cref="Outer"/> calls of <see cref="Batches"/> strided problems each, one call when the b stride is the h stride
/// times the heads. Lda, StrideA and OuterA belong to cuBLAS's A, which is the product's B (and the other way round). The product is dense: where the causal mask says an operand is zero it must hold zeros, and a
/// lower-triangle-only output gets its upper triangle written too.
/// </summary>
internal readonly record struct StridedBatchedGemm(
    int TransA, int TransB, int M, int N, int K, float Alpha, float Beta,
    int Lda, long StrideA, int Ldb, long StrideB, int Ldc, long StrideC, int Batches,
    int Outer, long OuterA, long OuterB, long OuterC)
{
    /// <summary>Maps a product; <paramref name="batches"/> is B·Heads.</summary>
    /// <exception cref="NotSupportedException">An operand has no unit stride, or a bias is asked for.</exception>
    public static StridedBatchedGemm From(GemmArgs g, int batches)
    {
        if (g.HasBias != 0)
        {
            throw new NotSupportedException("The strided-batched cuBLAS product has no bias.");
        }

        (int transA, long lda) = g.StrideBN == 1 ? (CuBlasNative.OpN, g.StrideBK)
            : g.StrideBK == 1 ? (CuBlasNative.OpT, g.StrideBN)
            : throw new NotSupportedException("The right operand needs a unit stride.");
        (int transB, long ldb) = g.StrideAK == 1 ? (CuBlasNative.OpN, g.StrideAM)
            : g.StrideAM == 1 ? (CuBlasNative.OpT, g.StrideAK)
            : throw new NotSupportedException("The left operand needs a unit stride.");
        int heads = Math.Max(g.Heads, 1);
        bool folds = batches % heads == 0 && g.BatchA == heads * g.HeadA && g.BatchB == heads * g.HeadB && g.BatchC == heads * g.HeadC;
        return new StridedBatchedGemm(
            transA, transB, g.N, g.M, g.K, g.Alpha, g.Accumulate != 0 ? 1f : 0f,
            checked((int)lda), g.HeadB, checked((int)ldb), g.HeadA, checked((int)g.StrideCM), g.HeadC,
            folds ? batches : heads, folds ? 1 : batches / heads, g.BatchB, g.BatchA, g.BatchC);
    }
}
