namespace Gpt2.Distributed;

/// <summary>A job of one process: every collective is the identity.</summary>
/// <remarks>Not thread-safe: each process calls the collectives from one thread, in the same order on every rank.</remarks>
public sealed class LocalCommunicator : ICommunicator
{
    /// <summary>The shared instance.</summary>
    public static LocalCommunicator Instance { get; } = new();

    /// <inheritdoc/>
    public int Rank => 0;

    /// <inheritdoc/>
    public int Size => 1;

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values)
    {
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> values, int root) => ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);

    /// <inheritdoc/>
    public void ReduceScatterSum(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<int> counts)
    {
        Communicators.CheckCounts(counts, 1, input.Length, output.Length, 0);
        input.CopyTo(output);
    }

    /// <inheritdoc/>
    public void AllGather(Span<float> values, ReadOnlySpan<int> counts) => Communicators.CheckCounts(counts, 1, values.Length, part: null, 0);

    /// <inheritdoc/>
    public void Barrier()
    {
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
