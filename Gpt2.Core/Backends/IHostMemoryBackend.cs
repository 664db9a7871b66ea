namespace Gpt2.Backends;

/// <summary>
/// A backend whose buffers are ordinary host memory (the CPU backend): host code, such as an MPI all-reduce, may work
/// on them in place instead of copying them out and back.
/// </summary>
public interface IHostMemoryBackend : IComputeBackend
{
    /// <summary>The memory behind a view; valid until its buffer is disposed. Enqueued work must be finished (<see cref="IComputeBackend.Synchronize"/>).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="view">A view of a buffer of this backend, at most <see cref="int.MaxValue"/> elements long.</param>
    /// <returns>The elements.</returns>
    Span<T> GetHostSpan<T>(DeviceView<T> view) where T : unmanaged;
}
