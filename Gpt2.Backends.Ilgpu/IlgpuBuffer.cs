using Gpt2.Backends;
using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu;

/// <summary>Accelerator memory, zero-filled on allocation.</summary>
internal sealed class IlgpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    public IlgpuBuffer(IlgpuBackend backend, Accelerator accelerator, long length)
        : base(backend, length)
    {
        Memory = accelerator.Allocate1D<T>(Math.Max(1, length));
        Memory.View.MemSetToZero();
    }

    public MemoryBuffer1D<T, Stride1D.Dense> Memory { get; }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Memory.Dispose();
        }
    }
}
