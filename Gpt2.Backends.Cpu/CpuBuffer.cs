using System.Runtime.InteropServices;
using Gpt2.Backends;

namespace Gpt2.Backends.Cpu;

/// <summary>Native, 64-byte aligned, zero-filled host memory (cache-line and AVX-512 aligned, never moved by the GC).</summary>
internal sealed unsafe class CpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    private const nuint Alignment = 64;

    public CpuBuffer(CpuBackend backend, long length)
        : base(backend, length)
    {
        nuint bytes = (nuint)Math.Max(1, length) * (nuint)sizeof(T);
        Pointer = (T*)NativeMemory.AlignedAlloc(bytes, Alignment);
        NativeMemory.Clear(Pointer, bytes);
    }

    ~CpuBuffer()
    {
        Dispose(false);
    }

    public T* Pointer { get; private set; }

    protected override void Dispose(bool disposing)
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}
