using System.Reflection;
using System.Runtime.InteropServices;

namespace Gpt2.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound to Open MPI's <c>libmpi.so.40</c>. Open MPI's handles are
/// pointers to exported globals (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>), and
/// <c>MPI_IN_PLACE</c> is <c>(void*)1</c>.
/// </summary>
internal static unsafe partial class MpiNative
{
    public const string Library = "libmpi";
    public const int ThreadMultiple = 3;
    public static readonly IntPtr InPlace = 1;
    private static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so"];
    private static readonly Lazy<IntPtr> Handle = new(Load);

    static MpiNative()
    {
        NativeLibrary.SetDllImportResolver(typeof(MpiNative).Assembly, Resolve);
    }

    public static IntPtr CommWorld => Export("ompi_mpi_comm_world");

    public static IntPtr Float => Export("ompi_mpi_float");

    public static IntPtr Sum => Export("ompi_mpi_op_sum");

    public static IntPtr Max => Export("ompi_mpi_op_max");

    /// <summary>True when Open MPI's library can be loaded.</summary>
    public static bool IsAvailable
    {
        get
        {
            try
            {
                return Handle.Value != IntPtr.Zero;
            }
            catch (DllNotFoundException)
            {
                return false;
            }
        }
    }

    [LibraryImport(Library)]
    public static partial int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);

    [LibraryImport(Library)]
    public static partial int MPI_Initialized(out int flag);

    [LibraryImport(Library)]
    public static partial int MPI_Finalized(out int flag);

    [LibraryImport(Library)]
    public static partial int MPI_Finalize();

    [LibraryImport(Library)]
    public static partial int MPI_Abort(IntPtr comm, int errorCode);

    [LibraryImport(Library)]
    public static partial int MPI_Comm_rank(IntPtr comm, out int rank);

    [LibraryImport(Library)]
    public static partial int MPI_Comm_size(IntPtr comm, out int size);

    [LibraryImport(Library)]
    public static partial int MPI_Barrier(IntPtr comm);

    [LibraryImport(Library)]
    public static partial int MPI_Allreduce(void* send, void* receive, int count, IntPtr type, IntPtr op, IntPtr comm);

    [LibraryImport(Library)]
    public static partial int MPI_Bcast(void* buffer, int count, IntPtr type, int root, IntPtr comm);

    [LibraryImport(Library)]
    public static partial int MPI_Reduce_scatter(void* send, void* receive, int* counts, IntPtr type, IntPtr op, IntPtr comm);

    [LibraryImport(Library)]
    public static partial int MPI_Allgatherv(void* send, int sendCount, IntPtr sendType, void* receive, int* counts, int* displacements, IntPtr receiveType, IntPtr comm);

    [LibraryImport("libc", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr DlOpen(string file, int mode);

    private static IntPtr Export(string name) => NativeLibrary.GetExport(Handle.Value, name);

    private static IntPtr Load()
    {
        foreach (string name in Candidates)
        {
            // RTLD_NOW | RTLD_GLOBAL: Open MPI's plugins resolve symbols of libmpi itself
            if (DlOpen(name, 2 | 0x100) != IntPtr.Zero && NativeLibrary.TryLoad(name, out var handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException("Open MPI's libmpi.so.40 was not found (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev).");
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == Library ? Handle.Value : IntPtr.Zero;
}
