namespace Gpt2.Backends;

/// <summary>
/// A contiguous range of a <see cref="DeviceBuffer{T}"/>: the argument type of every backend op.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly struct DeviceView<T> : IEquatable<DeviceView<T>> where T : unmanaged
{
    /// <summary>Creates a view, checking that it lies inside the buffer.</summary>
    /// <param name="buffer">The buffer.</param>
    /// <param name="offset">First element.</param>
    /// <param name="length">Number of elements.</param>
    public DeviceView(DeviceBuffer<T> buffer, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset + length > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"The view [{offset}, {offset + length}) does not fit in a buffer of {buffer.Length} elements.");
        }

        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>The underlying buffer.</summary>
    public DeviceBuffer<T> Buffer { get; }

    /// <summary>First element within <see cref="Buffer"/>.</summary>
    public long Offset { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>A sub-range of this view.</summary>
    /// <param name="offset">First element, relative to this view.</param>
    /// <param name="length">Number of elements.</param>
    /// <returns>The sub-view.</returns>
    public DeviceView<T> Slice(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"The slice [{offset}, {offset + length}) does not fit in a view of {Length} elements.");
        }

        return new DeviceView<T>(Buffer, Offset + offset, length);
    }

    /// <inheritdoc/>
    public bool Equals(DeviceView<T> other) => ReferenceEquals(Buffer, other.Buffer) && Offset == other.Offset && Length == other.Length;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DeviceView<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Buffer, Offset, Length);

    /// <summary>Compares two views for identity of buffer and range.</summary>
    /// <param name="left">The first view.</param>
    /// <param name="right">The second view.</param>
    /// <returns>True when both name the same range of the same buffer.</returns>
    public static bool operator ==(DeviceView<T> left, DeviceView<T> right) => left.Equals(right);

    /// <summary>Compares two views for difference.</summary>
    /// <param name="left">The first view.</param>
    /// <param name="right">The second view.</param>
    /// <returns>True unless both name the same range of the same buffer.</returns>
    public static bool operator !=(DeviceView<T> left, DeviceView<T> right) => !left.Equals(right);
}
