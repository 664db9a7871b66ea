using System.Runtime.InteropServices;
using Gpt2.Distributed;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Gpt2.Backends.Ilgpu.Nccl;

/// <summary>
/// Data-parallel collectives between CUDA GPUs through NCCL (libnccl.so.2), on an <see cref="IlgpuBackend"/>'s
/// buffers and stream, one GPU per process. The communicator is bootstrapped through the job's host communicator
/// (MPI): rank 0 makes the NCCL unique id and broadcasts it. Reduce-scatter and all-gather use NCCL's in-place forms
/// when every rank's part has the same size, else one grouped reduce or broadcast per rank.
/// </summary>
/// <remarks>Not thread-safe: each process calls the collectives from one thread, in the same order on every rank.</remarks>
public sealed unsafe class NcclCommunicator : IDeviceCommunicator
{
    private readonly IlgpuBackend _backend;
    private readonly CudaAccelerator _accelerator;
    private readonly IntPtr _stream;
    private IntPtr _comm;

    private NcclCommunicator(IlgpuBackend backend, CudaAccelerator accelerator, IntPtr comm, int rank, int size, string name)
    {
        _backend = backend;
        _accelerator = accelerator;
        _stream = ((CudaStream)accelerator.DefaultStream).StreamPtr;
        _comm = comm;
        Rank = rank;
        Size = size;
        Name = name;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The NCCL version as "major.minor.patch", or null when libnccl.so.2 cannot be loaded.</summary>
    public static string? Version
    {
        get
        {
            NativeLibraries.Register();
            try
            {
                NcclNative.Check(NcclNative.GetVersion(out int v), "ncclGetVersion");
                return v >= 10000 ? $"{v / 10000}.{v / 100 % 100}.{v % 100}" : $"{v / 1000}.{v / 100 % 10}.{v % 100}";
            }
            catch (DllNotFoundException)
            {
                return null;
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Joins this process's GPU to the job's NCCL communicator. Every process of <paramref name="bootstrap"/> must call
    /// it at the same point.
    /// </summary>
    /// <param name="backend">This process's backend, on a CUDA device.</param>
    /// <param name="bootstrap">The job's host communicator, used once to hand out NCCL's unique id.</param>
    /// <returns>The communicator; dispose it before the backend.</returns>
    /// <exception cref="InvalidOperationException">The backend is not on CUDA, libnccl.so.2 cannot be loaded, or NCCL fails.</exception>
    public static NcclCommunicator Create(IlgpuBackend backend, ICommunicator bootstrap)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(bootstrap);
        if (backend.Cuda is not { } accelerator)
        {
            throw new InvalidOperationException("NCCL needs the ILGPU backend on a CUDA device (--backend ilgpu-cuda).");
        }

        string version = Version ?? throw new InvalidOperationException(
            "NCCL's libnccl.so.2 cannot be loaded; install NCCL or put its lib folder on LD_LIBRARY_PATH.");
        var id = default(NcclNative.UniqueId);
        if (bootstrap.Rank == 0)
        {
            NcclNative.Check(NcclNative.GetUniqueId(&id), "ncclGetUniqueId");
        }

        // 128 opaque bytes travel bit for bit as 32 floats (the host communicator moves floats without converting them)
        var idFloats = MemoryMarshal.Cast<byte, float>(new Span<byte>(id.Internal, NcclNative.UniqueId.Size));
        bootstrap.Broadcast(idFloats, 0);
        using var binding = accelerator.BindScoped();
        NcclNative.Check(NcclNative.CommInitRank(out IntPtr comm, bootstrap.Size, id, bootstrap.Rank), "ncclCommInitRank");
        return new NcclCommunicator(backend, accelerator, comm, bootstrap.Rank, bootstrap.Size, $"nccl {version}");
    }

    /// <inheritdoc/>
    public void AllReduceSum(DeviceTensor values)
    {
        IntPtr p = Pointer(values);
        Run(() => NcclNative.AllReduce(p, p, (nuint)values.Length, NcclNative.Float32, NcclNative.Sum, _comm, _stream), "ncclAllReduce");
    }

    /// <inheritdoc/>
    public void Broadcast(DeviceTensor values, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        IntPtr p = Pointer(values);
        Run(() => NcclNative.Broadcast(p, p, (nuint)values.Length, NcclNative.Float32, root, _comm, _stream), "ncclBroadcast");
    }

    /// <inheritdoc/>
    public void ReduceScatterSum(DeviceTensor values, ReadOnlySpan<int> counts)
    {
        Communicators.CheckCounts(counts, Size, values.Length, part: null, Rank);
        IntPtr p = Pointer(values);
        int[] parts = counts.ToArray();
        if (AllEqual(parts))
        {
            IntPtr own = At(p, Communicators.Offset(parts, Rank));
            Run(() => NcclNative.ReduceScatter(p, own, (nuint)parts[0], NcclNative.Float32, NcclNative.Sum, _comm, _stream), "ncclReduceScatter");
            return;
        }

        Grouped(parts, p, (part, count, root) => NcclNative.Reduce(part, part, count, NcclNative.Float32, NcclNative.Sum, root, _comm, _stream), "ncclReduce");
    }

    /// <inheritdoc/>
    public void AllGather(DeviceTensor values, ReadOnlySpan<int> counts)
    {
        Communicators.CheckCounts(counts, Size, values.Length, part: null, Rank);
        IntPtr p = Pointer(values);
        int[] parts = counts.ToArray();
        if (AllEqual(parts))
        {
            IntPtr own = At(p, Communicators.Offset(parts, Rank));
            Run(() => NcclNative.AllGather(own, p, (nuint)parts[0], NcclNative.Float32, _comm, _stream), "ncclAllGather");
            return;
        }

        Grouped(parts, p, (part, count, root) => NcclNative.Broadcast(part, part, count, NcclNative.Float32, root, _comm, _stream), "ncclBroadcast");
    }

    /// <summary>Waits for the GPU and frees the NCCL communicator.</summary>
    public void Dispose()
    {
        if (_comm == IntPtr.Zero)
        {
            return;
        }

        using var binding = _accelerator.BindScoped();
        _accelerator.DefaultStream.Synchronize();
        NcclNative.CommDestroy(_comm);
        _comm = IntPtr.Zero;
    }

    /// <summary>The address of element <paramref name="index"/> of a float vector.</summary>
    private static IntPtr At(IntPtr values, long index) => values + checked((nint)(index * sizeof(float)));

    private static bool AllEqual(int[] counts) => Array.TrueForAll(counts, c => c == counts[0]);

    /// <summary>One call per rank's part (rank r is the root of its own part), fused by NCCL into one group.</summary>
    private void Grouped(int[] counts, IntPtr values, Func<IntPtr, nuint, int, int> call, string name) => Run(() =>
    {
        NcclNative.Check(NcclNative.GroupStart(), "ncclGroupStart");
        long offset = 0;
        for (int r = 0; r < counts.Length; r++)
        {
            if (counts[r] > 0)
            {
                NcclNative.Check(call(At(values, offset), (nuint)counts[r], r), name);
            }

            offset += counts[r];
        }

        return NcclNative.GroupEnd();
    }, "ncclGroupEnd");

    private IntPtr Pointer(DeviceTensor values)
    {
        ObjectDisposedException.ThrowIf(_comm == IntPtr.Zero, this);
        return _backend.ViewOf(values).LoadEffectiveAddressAsPtr();
    }

    /// <summary>NCCL runs on the calling thread's current CUDA context: async callers may be on any thread-pool thread.</summary>
    private void Run(Func<int> call, string name)
    {
        using var binding = _accelerator.BindScoped();
        NcclNative.Check(call(), name);
    }
}
