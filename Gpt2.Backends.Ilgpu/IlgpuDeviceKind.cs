namespace Gpt2.Backends.Ilgpu;

/// <summary>Which ILGPU accelerator runs the kernels.</summary>
public enum IlgpuDeviceKind
{
    /// <summary>The first CUDA GPU when one is present, otherwise the CPU accelerator.</summary>
    Auto,

    /// <summary>The first CUDA GPU; fails when there is none.</summary>
    Cuda,

    /// <summary>ILGPU's CPU accelerator, which simulates GPU threads with OS threads: for tests, not for speed.</summary>
    Cpu,
}
