using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Gpt2.Backends.Ilgpu.CuBlas;

/// <summary>
/// The three matmul products on cuBLAS, as llm.c's fp32 CUDA trainer: cuBLAS is column-major, so the row-major
/// (rows,OC) output is seen as its (OC,rows) transpose.
/// </summary>
internal sealed unsafe class CuBlasMatmul : IDisposable
{
    private readonly IntPtr _handle;
    private readonly int _compute;

    public CuBlasMatmul(CudaAccelerator accelerator, bool tf32)
    {
        CuBlasNative.Check(CuBlasNative.Create(out _handle), "cublasCreate");
        CuBlasNative.Check(CuBlasNative.SetStream(_handle, ((CudaStream)accelerator.DefaultStream).StreamPtr), "cublasSetStream");
        _compute = tf32 ? CuBlasNative.Compute32FFastTf32 : CuBlasNative.Compute32F;
    }

    /// <summary>output (rows,OC) = input (rows,C) · weight (OC,C)ᵀ.</summary>
    public void Forward(AcceleratorStream s, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> output, int rows, int c, int oc) =>
        Gemm(CuBlasNative.OpT, CuBlasNative.OpN, oc, rows, c, weight, c, input, c, 0f, output, oc);

    /// <summary>dInput += dOutput · weight; dWeight += dOutputᵀ · input.</summary>
    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> dInput, ArrayView<float> dWeight, int rows, int c, int oc)
    {
        Gemm(CuBlasNative.OpN, CuBlasNative.OpN, c, rows, oc, weight, c, dOutput, oc, 1f, dInput, c);
        Gemm(CuBlasNative.OpN, CuBlasNative.OpT, c, oc, rows, input, c, dOutput, oc, 1f, dWeight, c);
    }

    private void Gemm(int ta, int tb, int m, int n, int k, ArrayView<float> a, int lda, ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        float alpha = 1f;
        CuBlasNative.Check(CuBlasNative.GemmEx(_handle, ta, tb, m, n, k, &alpha,
            a.LoadEffectiveAddressAsPtr(), CuBlasNative.R32F, lda, b.LoadEffectiveAddressAsPtr(), CuBlasNative.R32F, ldb,
            &beta, c.LoadEffectiveAddressAsPtr(), CuBlasNative.R32F, ldc, _compute, CuBlasNative.GemmDefault), "cublasGemmEx");
    }

    /// <summary>
    /// A batched product in the ILGPU GEMM's terms (row-major, strided), one strided-batched call per b over its heads.
    /// cuBLAS computes every element, so operands must hold zeros where a causal mask applies.
    /// </summary>
    public void Batched(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, Ops.GemmArgs g, int batches)
    {
        // Row-major C (M×N) = A·B is column-major Cᵀ (N×M) = Bᵀ·Aᵀ: cuBLAS's first operand is our B, its second our A.
        (int opB, long ldb) = g.StrideBN == 1 ? (CuBlasNative.OpN, g.StrideBK) : (CuBlasNative.OpT, g.StrideBN);
        (int opA, long lda) = g.StrideAK == 1 ? (CuBlasNative.OpN, g.StrideAM) : (CuBlasNative.OpT, g.StrideAK);
        if ((g.StrideBN != 1 && g.StrideBK != 1) || (g.StrideAK != 1 && g.StrideAM != 1))
        {
            throw new InvalidOperationException("cuBLAS needs a unit stride in each operand.");
        }

        float alpha = g.Alpha, beta = g.Accumulate != 0 ? 1f : 0f;
        IntPtr pa = a.LoadEffectiveAddressAsPtr(), pb = b.LoadEffectiveAddressAsPtr(), pc = c.LoadEffectiveAddressAsPtr();
        for (int bi = 0; bi < batches / g.Heads; bi++)
        {
            CuBlasNative.Check(CuBlasNative.GemmStridedBatchedEx(_handle, opB, opA, g.N, g.M, g.K, &alpha,
                pb + (nint)(bi * g.BatchB * sizeof(float)), CuBlasNative.R32F, (int)ldb, g.HeadB,
                pa + (nint)(bi * g.BatchA * sizeof(float)), CuBlasNative.R32F, (int)lda, g.HeadA, &beta,
                pc + (nint)(bi * g.BatchC * sizeof(float)), CuBlasNative.R32F, (int)g.StrideCM, g.HeadC,
                g.Heads, _compute, CuBlasNative.GemmDefault), "cublasGemmStridedBatchedEx");
        }
    }

    public void Dispose() => CuBlasNative.Destroy(_handle);
}
