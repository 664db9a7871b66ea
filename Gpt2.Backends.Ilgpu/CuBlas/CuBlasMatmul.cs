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
    private readonly CudaAccelerator _accelerator;
    private readonly IntPtr _handle;
    private readonly int _compute;

    public CuBlasMatmul(CudaAccelerator accelerator, bool tf32)
    {
        _accelerator = accelerator;
        using var binding = accelerator.BindScoped();
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

    /// <summary>A batched product of attention (see <see cref="StridedBatchedGemm"/>): dense, whatever its causal flag.</summary>
    public void Batched(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, Ops.GemmArgs args, int batches)
    {
        var p = StridedBatchedGemm.From(args, batches);
        float alpha = p.Alpha, beta = p.Beta;
        using var binding = _accelerator.BindScoped();
        IntPtr pa = a.LoadEffectiveAddressAsPtr(), pb = b.LoadEffectiveAddressAsPtr(), pc = c.LoadEffectiveAddressAsPtr();
        for (int o = 0; o < p.Outer; o++)
        {
            CuBlasNative.Check(CuBlasNative.GemmStridedBatchedEx(_handle, p.TransA, p.TransB, p.M, p.N, p.K, &alpha,
                pb + checked((nint)(o * p.OuterA * sizeof(float))), CuBlasNative.R32F, p.Lda, p.StrideA,
                pa + checked((nint)(o * p.OuterB * sizeof(float))), CuBlasNative.R32F, p.Ldb, p.StrideB,
                &beta, pc + checked((nint)(o * p.OuterC * sizeof(float))), CuBlasNative.R32F, p.Ldc, p.StrideC, p.Batches,
                _compute, CuBlasNative.GemmDefault), "cublasGemmStridedBatchedEx");
        }
    }

    private void Gemm(int ta, int tb, int m, int n, int k, ArrayView<float> a, int lda, ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        float alpha = 1f;
        // cuBLAS runs in the calling thread's current context: async callers may be on any thread-pool thread
        using var binding = _accelerator.BindScoped();
        CuBlasNative.Check(CuBlasNative.GemmEx(_handle, ta, tb, m, n, k, &alpha,
            a.LoadEffectiveAddressAsPtr(), CuBlasNative.R32F, lda, b.LoadEffectiveAddressAsPtr(), CuBlasNative.R32F, ldb,
            &beta, c.LoadEffectiveAddressAsPtr(), CuBlasNative.R32F, ldc, _compute, CuBlasNative.GemmDefault), "cublasGemmEx");
    }

    public void Dispose()
    {
        using var binding = _accelerator.BindScoped();
        CuBlasNative.Destroy(_handle);
    }
}
