using Gpt2.Backends;

namespace Gpt2.Distributed;

/// <summary>
/// Collectives on a backend's own buffers, without a trip through host memory (for example NCCL between CUDA
/// GPUs). Calls are enqueued in order with the backend's other work and may return before they finish, as its ops
/// do; every process calls the same collectives in the same order with the same lengths.
/// </summary>
public interface IDeviceCommunicator : IDisposable
{
    /// <summary>This process's index, 0 to <see cref="Size"/> - 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int Size { get; }

    /// <summary>A short name for logs, for example "nccl 2.27.3".</summary>
    string Name { get; }

    /// <summary>Replaces each element with its sum over all processes.</summary>
    /// <param name="values">This process's fp32 values; the sums on return.</param>
    void AllReduceSum(DeviceTensor values);

    /// <summary>Copies the root's values to every process.</summary>
    /// <param name="values">The root's values on the root; overwritten elsewhere.</param>
    /// <param name="root">The rank that sends.</param>
    void Broadcast(DeviceTensor values, int root);

    /// <summary>
    /// Sums the vector over all processes, in place, where each process needs only its part: on return the
    /// <c>counts[Rank]</c> elements at this rank's offset (the sum of the counts before it) hold the sums; the other
    /// elements are unspecified.
    /// </summary>
    /// <param name="values">This process's full vector.</param>
    /// <param name="counts">Elements per rank.</param>
    void ReduceScatterSum(DeviceTensor values, ReadOnlySpan<int> counts);

    /// <summary>
    /// Gathers every process's part into every process's full vector, in place (the layout of
    /// <see cref="ReduceScatterSum"/>).
    /// </summary>
    /// <param name="values">The full vector, this process's part in place.</param>
    /// <param name="counts">Elements per rank.</param>
    void AllGather(DeviceTensor values, ReadOnlySpan<int> counts);
}
