namespace Gpt2.Backends;

/// <summary>
/// Memory owned by a compute backend (host memory for the CPU backend, device memory for a GPU).
/// Core code only holds these as opaque handles and reaches the data through the backend's copies.
/// </summary>
/// <typeparam name="T">The element type: <see cref="float"/>, <see cref="int"/>, or <see cref="ushort"/> for bf16 storage.</typeparam>
public abstract class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    /// <summary>Creates the handle.</summary>
    /// <param name="backend">The backend that owns the memory.</param>
    /// <param name="length">Number of elements.</param>
    protected DeviceBuffer(IComputeBackend backend, long length)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Backend = backend;
        Length = length;
    }

    /// <summary>The backend that owns the memory; only it can use the buffer.</summary>
    public IComputeBackend Backend { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>True once the memory has been released.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>A view of the whole buffer.</summary>
    public DeviceView<T> View => new(this, 0, Length);

    /// <summary>A view of part of the buffer.</summary>
    /// <param name="offset">First element.</param>
    /// <param name="length">Number of elements.</param>
    /// <returns>The view.</returns>
    public DeviceView<T> Slice(long offset, long length) => View.Slice(offset, length);

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
