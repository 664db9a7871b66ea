namespace Gpt2.Backends.Ilgpu;

/// <summary>Options of <see cref="IlgpuBackend"/>.</summary>
public sealed record IlgpuBackendOptions
{
    /// <summary>Which accelerator to use.</summary>
    public IlgpuDeviceKind Device { get; init; } = IlgpuDeviceKind.Auto;

    /// <summary>What computes matrix multiplications; cuBLAS engines need a CUDA device.</summary>
    public MatmulEngine Matmul { get; init; } = MatmulEngine.Kernel;
}
