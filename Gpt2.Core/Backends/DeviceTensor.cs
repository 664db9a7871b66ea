namespace Gpt2.Backends;

/// <summary>
/// A typed, shaped view of a contiguous range of a <see cref="DeviceBuffer"/>: the argument type of every backend
/// op. The backend reads sizes from the shapes, so an op takes no size arguments.
/// </summary>
/// <remarks>An immutable view (a value) of part of a buffer: safe to share between threads, but ops on it follow its backend's rules and it is valid only while its buffer lives.</remarks>
public readonly struct DeviceTensor : IEquatable<DeviceTensor>
{
    /// <summary>Creates a view, checking that it lies inside the buffer.</summary>
    /// <param name="buffer">The buffer.</param>
    /// <param name="offset">First element.</param>
    /// <param name="shape">The view's shape; its length is the number of elements viewed.</param>
    public DeviceTensor(DeviceBuffer buffer, long offset, TensorShape shape)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset + shape.Length > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(shape),
                $"A {shape} view at {offset} does not fit in a buffer of {buffer.Length} elements.");
        }

        Buffer = buffer;
        Offset = offset;
        Shape = shape;
    }

    /// <summary>The underlying buffer; null for the default value, which no op accepts.</summary>
    public DeviceBuffer Buffer { get; }

    /// <summary>First element within <see cref="Buffer"/>.</summary>
    public long Offset { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public TensorShape Shape { get; }

    /// <summary>The element type (the buffer's).</summary>
    public ElementType ElementType => Buffer.ElementType;

    /// <summary>Number of elements.</summary>
    public long Length => Shape.Length;

    /// <summary>One entry of the outermost axis, for example layer <paramref name="index"/> of an (L,C) tensor: a (C) tensor.</summary>
    /// <param name="index">Index along the first axis.</param>
    public DeviceTensor this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Shape.Rank == 0 ? 0 : Shape[0]);
            var inner = Shape.Inner;
            return new DeviceTensor(Buffer, Offset + index * inner.Length, inner);
        }
    }

    /// <summary>A range of the outermost axis: entries [<paramref name="start"/>, start + <paramref name="count"/>).</summary>
    /// <param name="start">First index along the first axis.</param>
    /// <param name="count">Number of entries.</param>
    /// <returns>The view, of shape (count, …).</returns>
    public DeviceTensor Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int outer = Shape.Rank == 0 ? 0 : Shape[0];
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)start + count, outer, nameof(count));
        long inner = Shape.Inner.Length;
        return new DeviceTensor(Buffer, Offset + start * inner, Shape.WithOuter(count));
    }

    /// <summary>A range of this view's elements, with its own shape.</summary>
    /// <param name="offset">First element, relative to this view.</param>
    /// <param name="shape">The shape of the range.</param>
    /// <returns>The view.</returns>
    public DeviceTensor View(long offset, TensorShape shape)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset + shape.Length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"A {shape} range at {offset} does not fit in a view of {Length} elements.");
        }

        return new DeviceTensor(Buffer, Offset + offset, shape);
    }

    /// <summary>The same elements with another shape of the same length.</summary>
    /// <param name="shape">The new shape.</param>
    /// <returns>The view.</returns>
    public DeviceTensor Reshape(TensorShape shape)
    {
        if (shape.Length != Length)
        {
            throw new ArgumentException($"Cannot view {Length} elements as {shape}.", nameof(shape));
        }

        return new DeviceTensor(Buffer, Offset, shape);
    }

    /// <inheritdoc/>
    public bool Equals(DeviceTensor other) => ReferenceEquals(Buffer, other.Buffer) && Offset == other.Offset && Shape == other.Shape;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DeviceTensor other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Buffer, Offset, Shape);

    /// <summary>The element type and shape, for example <c>fp32 (2, 5, 12)</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Buffer is null ? "(no tensor)" : $"{ElementType.ShortName()} {Shape}";

    /// <summary>Compares two views for identity of buffer, range and shape.</summary>
    /// <param name="left">The first view.</param>
    /// <param name="right">The second view.</param>
    /// <returns>True when both name the same range of the same buffer with the same shape.</returns>
    public static bool operator ==(DeviceTensor left, DeviceTensor right) => left.Equals(right);

    /// <summary>Compares two views for difference.</summary>
    /// <param name="left">The first view.</param>
    /// <param name="right">The second view.</param>
    /// <returns>True unless both name the same range of the same buffer with the same shape.</returns>
    public static bool operator !=(DeviceTensor left, DeviceTensor right) => !left.Equals(right);
}
