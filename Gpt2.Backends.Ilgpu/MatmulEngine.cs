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
}
