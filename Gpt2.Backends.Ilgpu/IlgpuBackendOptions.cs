namespace Gpt2.Backends.Ilgpu;

/// <summary>Options of <see cref="IlgpuBackend"/>.</summary>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record IlgpuBackendOptions
{
    /// <summary>Which accelerator to use.</summary>
    public IlgpuDeviceKind Device { get; init; } = IlgpuDeviceKind.Auto;

    /// <summary>
    /// Which CUDA device (ordinal) to use when on CUDA; one process per GPU in a data-parallel job passes its local rank.
    /// </summary>
    public int DeviceIndex
    {
        get => _deviceIndex;
        init => _deviceIndex = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(DeviceIndex), value, "A device ordinal is 0 or more.");
    }

    private readonly int _deviceIndex;

    /// <summary>What computes matrix multiplications; cuBLAS engines need a CUDA device. The default picks cuBLAS with TF32 on CUDA, else our kernel.</summary>
    public MatmulEngine Matmul { get; init; } = MatmulEngine.Auto;
}
