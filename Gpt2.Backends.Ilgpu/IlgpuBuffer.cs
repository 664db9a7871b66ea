using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu;

/// <summary>Accelerator memory of elements of host type <typeparamref name="T"/>, zero-filled on allocation.</summary>
internal sealed class IlgpuBuffer<T> : DeviceBuffer where T : unmanaged
{
    public IlgpuBuffer(IlgpuBackend backend, Accelerator accelerator, ElementType type, TensorShape shape)
        : base(backend, type, shape)
    {
        Memory = accelerator.Allocate1D<T>(Math.Max(1, Length));
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
