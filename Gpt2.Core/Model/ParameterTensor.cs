using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// One row of the GPT-2 parameter table: llm.c's name for the tensor, where it starts in the flat parameter (or
/// gradient, or moment) buffer, its shape and its element type.
/// </summary>
/// <param name="Name">llm.c's name for the tensor, for example <c>qkvw</c>.</param>
/// <param name="Offset">First element in the flat buffer.</param>
/// <param name="Shape">The tensor's shape; per-layer tensors lead with L.</param>
/// <param name="ElementType">The element type the table was built for.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record ParameterTensor(string Name, long Offset, TensorShape Shape, ElementType ElementType)
{
    /// <summary>Number of elements.</summary>
    public long Length => Shape.Length;

    /// <summary>True for weight matrices (rank 2 per layer), the tensors that weight decay applies to in llm.c's GPU trainer.</summary>
    public bool IsMatrix { get; init; }

    /// <summary>True when the tensor holds one slice per transformer block.</summary>
    public bool IsPerLayer { get; init; }

    /// <summary>Elements of one layer's slice (the whole tensor when not per layer).</summary>
    public long LayerLength => IsPerLayer ? Shape.Inner.Length : Length;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shape}";
}
