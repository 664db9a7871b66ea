using System.Collections;
using System.Runtime.CompilerServices;

namespace Gpt2.Backends;

/// <summary>
/// The dimensions of a tensor, outermost first, for example (B, T, C). Immutable; write one as a collection
/// expression, <c>TensorShape shape = [b, t, c];</c>.
/// </summary>
/// <remarks>An immutable value: safe to share between threads.</remarks>
[CollectionBuilder(typeof(TensorShape), nameof(Create))]
public readonly struct TensorShape : IEquatable<TensorShape>, IReadOnlyList<int>
{
    private readonly int[]? _dims;
    private readonly int _first; // inner shapes share their outer shape's array: indexing a tensor allocates nothing

    /// <summary>Creates a shape.</summary>
    /// <param name="dimensions">The sizes, outermost first; each non-negative.</param>
    public TensorShape(params ReadOnlySpan<int> dimensions)
    {
        foreach (int d in dimensions)
        {
            if (d < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(dimensions), d, "A dimension cannot be negative.");
            }
        }

        _dims = dimensions.ToArray();
    }

    private TensorShape(int[] dims, int first)
    {
        _dims = dims;
        _first = first;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Dimensions.Length;

    /// <inheritdoc/>
    int IReadOnlyCollection<int>.Count => Rank;

    /// <summary>Number of elements: the product of the dimensions (1 for rank 0).</summary>
    public long Length
    {
        get
        {
            long n = 1;
            foreach (int d in Dimensions)
            {
                n *= d;
            }

            return n;
        }
    }

    /// <summary>The innermost dimension (C of a (B,T,C) tensor), or 1 for rank 0.</summary>
    public int Last => Rank == 0 ? 1 : Dimensions[^1];

    /// <summary>The product of all but the innermost dimension (B·T of a (B,T,C) tensor).</summary>
    public long Rows => Last == 0 ? 0 : Length / Last;

    /// <summary>The dimensions after the outermost one: the shape of one entry of the first axis.</summary>
    public TensorShape Inner => Rank == 0 ? throw new InvalidOperationException("A rank-0 shape has no inner shape.") : new(_dims!, _first + 1);

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<int> Dimensions => _dims.AsSpan(_first);

    /// <summary>One dimension.</summary>
    /// <param name="axis">0 for the outermost; <c>^1</c> for the innermost.</param>
    public int this[Index axis] => Dimensions[axis];

    /// <inheritdoc/>
    int IReadOnlyList<int>.this[int index] => Dimensions[index];

    /// <summary>Builds a shape from a collection expression.</summary>
    /// <param name="dimensions">The sizes.</param>
    /// <returns>The shape.</returns>
    public static TensorShape Create(ReadOnlySpan<int> dimensions) => new(dimensions);

    /// <summary>The same shape with another outermost dimension.</summary>
    /// <param name="outer">The new first dimension.</param>
    /// <returns>The shape.</returns>
    public TensorShape WithOuter(int outer)
    {
        if (Rank == 0)
        {
            throw new InvalidOperationException("A rank-0 shape has no outer dimension.");
        }

        int[] dims = [.. Dimensions];
        dims[0] = outer;
        return new TensorShape(dims);
    }

    /// <summary>The shape with one more outermost dimension, for example (L) + (B,T,C) = (L,B,T,C).</summary>
    /// <param name="outer">The new first dimension.</param>
    /// <returns>The shape.</returns>
    public TensorShape Prepend(int outer) => new([outer, .. Dimensions]);

    /// <inheritdoc/>
    public bool Equals(TensorShape other) => Dimensions.SequenceEqual(other.Dimensions);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TensorShape other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int d in Dimensions)
        {
            hash.Add(d);
        }

        return hash.ToHashCode();
    }

    /// <summary>Compares two shapes dimension by dimension.</summary>
    /// <param name="left">The first shape.</param>
    /// <param name="right">The second shape.</param>
    /// <returns>True when both have the same dimensions.</returns>
    public static bool operator ==(TensorShape left, TensorShape right) => left.Equals(right);

    /// <summary>Compares two shapes for difference.</summary>
    /// <param name="left">The first shape.</param>
    /// <param name="right">The second shape.</param>
    /// <returns>True unless both have the same dimensions.</returns>
    public static bool operator !=(TensorShape left, TensorShape right) => !left.Equals(right);

    /// <summary>The dimensions in parentheses, for example <c>(2, 5, 12)</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"({string.Join(", ", Dimensions.ToArray())})";

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)Dimensions.ToArray()).GetEnumerator();

    /// <inheritdoc/>
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
