using System.Runtime.InteropServices;

namespace Gpt2.Backends.Cpu;

/// <summary>Native, 64-byte aligned, zero-filled host memory (cache-line and AVX-512 aligned, never moved by the GC).</summary>
internal sealed unsafe class CpuBuffer : DeviceBuffer
{
    private const nuint Alignment = 64;

    public CpuBuffer(CpuBackend backend, ElementType type, TensorShape shape)
        : base(backend, type, shape)
    {
        nuint bytes = (nuint)Math.Max(1, Bytes);
        Pointer = NativeMemory.AlignedAlloc(bytes, Alignment);
        NativeMemory.Clear(Pointer, bytes);
    }

    ~CpuBuffer()
    {
        Dispose(false);
    }

    public void* Pointer { get; private set; }

    protected override void Dispose(bool disposing)
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}
