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
