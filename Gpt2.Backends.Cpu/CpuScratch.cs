using System.Runtime.InteropServices;

namespace Gpt2.Backends.Cpu;

/// <summary>
/// Reusable native scratch buffers (transposed operands): each slot grows to its largest request, in the first
/// step, and is reused after that, so a training step allocates nothing.
/// </summary>
internal sealed unsafe class CpuScratch : IDisposable
{
    private readonly float*[] _buffers = new float*[4];
    private readonly long[] _lengths = new long[4];

    public float* Get(int slot, long length)
    {
        if (_lengths[slot] < length)
        {
            NativeMemory.AlignedFree(_buffers[slot]);
            _buffers[slot] = (float*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(float)), 64);
            _lengths[slot] = length;
        }

        return _buffers[slot];
    }

    public void Dispose()
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            NativeMemory.AlignedFree(_buffers[i]);
            _buffers[i] = null;
            _lengths[i] = 0;
        }
    }
}
