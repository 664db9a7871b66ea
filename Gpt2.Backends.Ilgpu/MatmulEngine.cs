namespace Gpt2.Backends.Ilgpu;

/// <summary>What computes the matrix multiplications of the ILGPU backend.</summary>
public enum MatmulEngine
{
    /// <summary>Our shared-memory tiled ILGPU kernel (every accelerator).</summary>
    Kernel,

    /// <summary>cuBLAS in fp32 (CUDA only).</summary>
    CuBlas,

    /// <summary>cuBLAS with TF32 tensor cores: fp32 storage, 10-bit mantissa products (CUDA only).</summary>
    CuBlasTf32,

    /// <summary>
    /// The fastest available: <see cref="CuBlasTf32"/> on a CUDA device where cuBLAS loads (as llm.c enables TF32 on
    /// Ampere and later), else <see cref="Kernel"/>. <see cref="IlgpuBackend.Matmul"/> tells which was chosen.
    /// </summary>
    Auto,
}
