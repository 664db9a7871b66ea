using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// Allocates the rows of an activation table on a backend and owns them; or, without a backend, only adds up their
/// bytes (to report the memory of a shape without allocating it).
/// </summary>
internal sealed class TensorAllocator(ComputeBackend? backend) : IDisposable
{
    private readonly List<DeviceBuffer> _owned = [];

    /// <summary>Bytes of every row so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>One row: a zero-filled tensor of its own (the default tensor when only counting).</summary>
    public DeviceTensor New(TensorShape shape, ElementType type)
    {
        Bytes += shape.Length * type.Size();
        if (backend is null)
        {
            return default;
        }

        var buffer = backend.Allocate(type, shape);
        _owned.Add(buffer);
        return buffer.Tensor;
    }

    public void Dispose()
    {
        foreach (var buffer in _owned)
        {
            buffer.Dispose();
        }

        _owned.Clear();
    }
}
