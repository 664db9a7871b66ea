namespace Gpt2.Distributed;

/// <summary>
/// The collectives of data-parallel training between the processes of one job. Every process calls the same
/// collectives in the same order with the same lengths; a call returns when all have joined it.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index, 0 to <see cref="Size"/> - 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int Size { get; }

    /// <summary>Replaces each element with its sum over all processes.</summary>
    /// <param name="values">This process's values; the sums on return.</param>
    void AllReduceSum(Span<float> values);

    /// <summary>Copies the root's values to every process.</summary>
    /// <param name="values">The root's values on the root; overwritten elsewhere.</param>
    /// <param name="root">The rank that sends.</param>
    void Broadcast(Span<float> values, int root);

    /// <summary>
    /// Sums <paramref name="input"/> over all processes and gives each process its part of the sum: rank r receives
    /// the <c>counts[r]</c> elements that follow the first <c>counts[0] + … + counts[r-1]</c>.
    /// </summary>
    /// <param name="input">This process's full vector (the sum of <paramref name="counts"/> elements).</param>
    /// <param name="output">This process's part of the sum (<c>counts[Rank]</c> elements); must not overlap the input.</param>
    /// <param name="counts">Elements per rank.</param>
    void ReduceScatterSum(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<int> counts);

    /// <summary>
    /// Gathers every process's part into every process's full vector, in place: each process's own part is already
    /// at its place (the layout of <see cref="ReduceScatterSum"/>) and the others' parts are written around it.
    /// </summary>
    /// <param name="values">The full vector.</param>
    /// <param name="counts">Elements per rank.</param>
    void AllGather(Span<float> values, ReadOnlySpan<int> counts);

    /// <summary>Returns when every process has called it.</summary>
    void Barrier();
}
