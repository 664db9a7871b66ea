using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// Device scratch memory that grows to the largest request and is then reused: ops run in stream order, so one
/// buffer per user suffices, and it is allocated in the first step only.
/// </summary>
internal sealed class ScratchBuffer(Accelerator accelerator) : IDisposable
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;

    public ArrayView<float> View(long length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            accelerator.Synchronize(); // work still queued may read the old buffer
            _buffer?.Dispose();
            _buffer = accelerator.Allocate1D<float>(length);
        }

        return _buffer.View.SubView(0, length);
    }

    public void Dispose() => _buffer?.Dispose();
}
