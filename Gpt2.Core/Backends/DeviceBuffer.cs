namespace Gpt2.Backends;

/// <summary>
/// Memory owned by a compute backend (host memory for the CPU backend, device memory for a GPU), zero-filled when
/// allocated. Core code only holds these as opaque handles and reaches the data through the backend's copies; ops take
/// <see cref="DeviceTensor"/> views of them.
/// </summary>
/// <remarks>Not thread-safe; owned by whoever allocated it, and disposed by them before its backend.</remarks>
public abstract class DeviceBuffer : IDisposable
{
    /// <summary>Creates the handle.</summary>
    /// <param name="backend">The backend that owns the memory.</param>
    /// <param name="elementType">The element type.</param>
    /// <param name="shape">The shape it was allocated with.</param>
    protected DeviceBuffer(ComputeBackend backend, ElementType elementType, TensorShape shape)
    {
        ArgumentNullException.ThrowIfNull(backend);
        Backend = backend;
        ElementType = elementType;
        Shape = shape;
        Length = shape.Length;
    }

    /// <summary>The backend that owns the memory; only it can use the buffer.</summary>
    public ComputeBackend Backend { get; }

    /// <summary>The element type.</summary>
    public ElementType ElementType { get; }

    /// <summary>The shape the buffer was allocated with.</summary>
    public TensorShape Shape { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Bytes of memory held.</summary>
    public long Bytes => Length * ElementType.Size();

    /// <summary>True once the memory has been released.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>The whole buffer, with the shape it was allocated with.</summary>
    public DeviceTensor Tensor => new(this, 0, Shape);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            Dispose(true);
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Releases the memory.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected abstract void Dispose(bool disposing);
}
