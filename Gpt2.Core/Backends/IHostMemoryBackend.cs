namespace Gpt2.Backends;

/// <summary>
/// A backend whose buffers are ordinary host memory (the CPU backend): host code, such as an MPI all-reduce, may work
/// on them in place instead of copying them out and back.
/// </summary>
public interface IHostMemoryBackend
{
    /// <summary>The memory behind a view; valid until its buffer is disposed. Enqueued work must be finished (<see cref="ComputeBackend.Synchronize"/>).</summary>
    /// <typeparam name="T">The host type of the tensor's element type (<see cref="float"/> for fp32).</typeparam>
    /// <param name="tensor">A view of a buffer of this backend, at most <see cref="int.MaxValue"/> elements long.</param>
    /// <returns>The elements.</returns>
    Span<T> GetHostSpan<T>(DeviceTensor tensor) where T : unmanaged;
}
