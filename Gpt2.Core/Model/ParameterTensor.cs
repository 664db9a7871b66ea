namespace Gpt2.Model;

/// <summary>
/// One named tensor of the GPT-2 parameter (or gradient) buffer: where it starts and its shape.
/// </summary>
/// <param name="Name">llm.c's name for the tensor, for example <c>qkvw</c>.</param>
/// <param name="Offset">First element in the flat parameter buffer.</param>
/// <param name="Shape">The tensor's shape; per-layer tensors lead with L.</param>
public sealed record ParameterTensor(string Name, long Offset, IReadOnlyList<int> Shape)
{
    /// <summary>Number of elements.</summary>
    public long Length => Shape.Aggregate(1L, (n, d) => n * d);

    /// <summary>True for weight matrices (rank 2 per layer), the tensors that weight decay applies to in llm.c's GPU trainer.</summary>
    public bool IsMatrix { get; init; }

    /// <summary>True when the tensor holds one slice per transformer block.</summary>
    public bool IsPerLayer { get; init; }

    /// <summary>Elements of one layer's slice (the whole tensor when not per layer).</summary>
    public long LayerLength => IsPerLayer ? Length / Shape[0] : Length;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({string.Join(", ", Shape)})";
}
