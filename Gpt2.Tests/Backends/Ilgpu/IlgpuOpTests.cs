using Gpt2.Backends;
using Gpt2.Backends.Ilgpu;

namespace Gpt2.Tests.Backends.Ilgpu;

/// <summary>Every ILGPU kernel on ILGPU's CPU accelerator (warps of 4), against the same float64 oracle as the CPU backend.</summary>
public sealed class IlgpuOpTests : OpTests
{
    protected override ComputeBackend CreateBackend() => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
}
