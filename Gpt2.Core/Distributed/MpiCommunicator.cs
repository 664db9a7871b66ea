using System.Diagnostics;

namespace Gpt2.Distributed;

/// <summary>
/// The processes of an <c>mpirun</c> job, through Open MPI (<c>libmpi.so.40</c>). One per process: create it once,
/// dispose it at the end (MPI_Finalize). A collective that has not completed after <see cref="Timeout"/> (a rank died,
/// hangs or never joined) aborts the whole job with a message naming the collective, instead of waiting forever.
/// </summary>
/// <remarks>Not thread-safe: each process calls the collectives from one thread, in the same order on every rank.</remarks>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private static int _created;
    private readonly Thread _watchdog;
    private readonly object _gate = new();
    private string? _operation;
    private long _started;
    private bool _disposed;

    /// <summary>Initializes MPI (MPI_Init_thread) for this process.</summary>
    /// <param name="timeout">How long one collective may wait for the other processes; default 10 minutes.</param>
    /// <exception cref="DllNotFoundException">Open MPI is not installed.</exception>
    /// <exception cref="InvalidOperationException">MPI was already initialized in this process, or initialization failed.</exception>
    public MpiCommunicator(TimeSpan? timeout = null)
    {
        Timeout = timeout ?? TimeSpan.FromMinutes(10);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(timeout));
        if (Interlocked.Exchange(ref _created, 1) != 0)
        {
            throw new InvalidOperationException("MPI is initialized once per process; share the one MpiCommunicator.");
        }

        Check(MpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, MpiNative.ThreadMultiple, out int provided), "MPI_Init_thread");
        ThreadLevel = provided;
        Check(MpiNative.MPI_Comm_rank(MpiNative.CommWorld, out int rank), "MPI_Comm_rank");
        Check(MpiNative.MPI_Comm_size(MpiNative.CommWorld, out int size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        _watchdog = new Thread(Watch) { IsBackground = true, Name = "MPI watchdog" };
        _watchdog.Start();
    }

    /// <summary>
    /// True when this process was started by <c>mpirun</c>/<c>mpiexec</c> (Open MPI or PMIx environment variables
    /// are set), so that creating an <see cref="MpiCommunicator"/> joins a job rather than starting a job of one.
    /// </summary>
    public static bool IsLaunchedByMpi =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("PMIX_RANK") is not null;

    /// <summary>True when Open MPI's library can be loaded on this machine.</summary>
    public static bool IsAvailable => MpiNative.IsAvailable;

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <summary>The thread support MPI provides (0 single … 3 multiple).</summary>
    public int ThreadLevel { get; }

    /// <summary>How long one collective may wait before the job is aborted.</summary>
    public TimeSpan Timeout { get; }

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values)
    {
        fixed (float* p = values)
        {
            Begin("MPI_Allreduce");
            End("MPI_Allreduce", MpiNative.MPI_Allreduce((void*)MpiNative.InPlace, p, values.Length, MpiNative.Float, MpiNative.Sum, MpiNative.CommWorld));
        }
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> values, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        fixed (float* p = values)
        {
            Begin("MPI_Bcast");
            End("MPI_Bcast", MpiNative.MPI_Bcast(p, values.Length, MpiNative.Float, root, MpiNative.CommWorld));
        }
    }

    /// <inheritdoc/>
    public void ReduceScatterSum(ReadOnlySpan<float> input, Span<float> output, ReadOnlySpan<int> counts)
    {
        Communicators.CheckCounts(counts, Size, input.Length, output.Length, Rank);
        fixed (float* i = input)
        fixed (float* o = output)
        fixed (int* c = counts)
        {
            Begin("MPI_Reduce_scatter");
            End("MPI_Reduce_scatter", MpiNative.MPI_Reduce_scatter(i, o, c, MpiNative.Float, MpiNative.Sum, MpiNative.CommWorld));
        }
    }

    /// <inheritdoc/>
    public void AllGather(Span<float> values, ReadOnlySpan<int> counts)
    {
        Communicators.CheckCounts(counts, Size, values.Length, part: null, Rank);
        var displacements = new int[Size];
        for (int r = 1; r < Size; r++)
        {
            displacements[r] = displacements[r - 1] + counts[r - 1];
        }

        fixed (float* p = values)
        fixed (int* c = counts)
        fixed (int* d = displacements)
        {
            Begin("MPI_Allgatherv");
            End("MPI_Allgatherv", MpiNative.MPI_Allgatherv((void*)MpiNative.InPlace, 0, MpiNative.Float, p, c, d, MpiNative.Float, MpiNative.CommWorld));
        }
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        Begin("MPI_Barrier");
        End("MPI_Barrier", MpiNative.MPI_Barrier(MpiNative.CommWorld));
    }

    /// <summary>Ends the whole job at once with an error code (MPI_Abort), after writing a message to stderr.</summary>
    /// <param name="message">Why; it is prefixed with this rank.</param>
    /// <param name="errorCode">The job's exit code.</param>
    public void Abort(string message, int errorCode = 1)
    {
        Console.Error.WriteLine($"gpt2: rank {Rank}/{Size}: {message}");
        Console.Error.Flush();
        MpiNative.MPI_Abort(MpiNative.CommWorld, errorCode);
    }

    /// <summary>Finalizes MPI (every process must do so at the end of a successful job).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        MpiNative.MPI_Finalize();
    }

    private static void Check(int code, string call)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"{call} failed with MPI error {code}.");
        }
    }

    private void Begin(string operation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            _operation = operation;
            _started = Stopwatch.GetTimestamp();
        }
    }

    private void End(string operation, int code)
    {
        lock (_gate)
        {
            _operation = null;
        }

        Check(code, operation);
    }

    private void Watch()
    {
        while (true)
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(Math.Clamp(Timeout.TotalMilliseconds / 10, 50, 1000)));
            string? operation;
            TimeSpan waited;
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                operation = _operation;
                waited = Stopwatch.GetElapsedTime(_started);
            }

            if (operation is not null && waited > Timeout)
            {
                Abort($"{operation} has waited {waited.TotalSeconds:F0} s for the other processes (limit {Timeout.TotalSeconds:F0} s): " +
                    "a rank has died or hangs. Aborting the job.");
                return;
            }
        }
    }
}
