using System.Runtime.InteropServices;

namespace Gpt2.Backends.Ilgpu.CuBlas;

/// <summary>
/// The few cuBLAS entry points the backend needs. ILGPU.Algorithms' wrapper has no GemmEx (no TF32 or bf16) and
/// only probes libcublas.so.10-12, so this binding resolves libcublas.so.13 or .12 itself (see NativeLibraries).
/// </summary>
internal static unsafe partial class CuBlasNative
{
    public const string LibraryName = "cublas";

    public const int OpN = 0, OpT = 1;
    public const int R32F = 0;
    public const int Compute32F = 68, Compute32FFastTf32 = 77;
    public const int GemmDefault = -1;

    [LibraryImport(LibraryName, EntryPoint = "cublasCreate_v2")]
    public static partial int Create(out IntPtr handle);

    [LibraryImport(LibraryName, EntryPoint = "cublasDestroy_v2")]
    public static partial int Destroy(IntPtr handle);

    [LibraryImport(LibraryName, EntryPoint = "cublasSetStream_v2")]
    public static partial int SetStream(IntPtr handle, IntPtr stream);

    [LibraryImport(LibraryName, EntryPoint = "cublasGemmEx")]
    public static partial int GemmEx(IntPtr handle, int transA, int transB, int m, int n, int k, float* alpha,
        IntPtr a, int aType, int lda, IntPtr b, int bType, int ldb, float* beta, IntPtr c, int cType, int ldc,
        int computeType, int algo);

    [LibraryImport(LibraryName, EntryPoint = "cublasGemmStridedBatchedEx")]
    public static partial int GemmStridedBatchedEx(IntPtr handle, int transA, int transB, int m, int n, int k, float* alpha,
        IntPtr a, int aType, int lda, long strideA, IntPtr b, int bType, int ldb, long strideB, float* beta,
        IntPtr c, int cType, int ldc, long strideC, int batchCount, int computeType, int algo);

    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{call} failed with cuBLAS status {status}.");
        }
    }
}
