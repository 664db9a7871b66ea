using System.Runtime.InteropServices;

namespace Gpt2.Backends.Ilgpu.Nccl;

/// <summary>
/// The few NCCL 2 entry points data-parallel training needs (libnccl.so.2, resolved by <see cref="NativeLibraries"/>).
/// Every call is asynchronous on the given CUDA stream and returns an ncclResult_t (0 = success).
/// </summary>
internal static unsafe partial class NcclNative
{
    public const string LibraryName = "nccl";

    /// <summary>ncclFloat32.</summary>
    public const int Float32 = 7;

    /// <summary>ncclSum.</summary>
    public const int Sum = 0;

    /// <summary>ncclUniqueId: 128 opaque bytes made by one rank and handed to all.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UniqueId
    {
        public const int Size = 128;

        public fixed byte Internal[Size];
    }

    [LibraryImport(LibraryName, EntryPoint = "ncclGetVersion")]
    public static partial int GetVersion(out int version);

    [LibraryImport(LibraryName, EntryPoint = "ncclGetUniqueId")]
    public static partial int GetUniqueId(UniqueId* id);

    [LibraryImport(LibraryName, EntryPoint = "ncclCommInitRank")]
    public static partial int CommInitRank(out IntPtr comm, int ranks, UniqueId id, int rank);

    [LibraryImport(LibraryName, EntryPoint = "ncclCommDestroy")]
    public static partial int CommDestroy(IntPtr comm);

    [LibraryImport(LibraryName, EntryPoint = "ncclGetErrorString")]
    public static partial IntPtr GetErrorString(int result);

    [LibraryImport(LibraryName, EntryPoint = "ncclAllReduce")]
    public static partial int AllReduce(IntPtr send, IntPtr receive, nuint count, int type, int op, IntPtr comm, IntPtr stream);

    [LibraryImport(LibraryName, EntryPoint = "ncclBroadcast")]
    public static partial int Broadcast(IntPtr send, IntPtr receive, nuint count, int type, int root, IntPtr comm, IntPtr stream);

    [LibraryImport(LibraryName, EntryPoint = "ncclReduce")]
    public static partial int Reduce(IntPtr send, IntPtr receive, nuint count, int type, int op, int root, IntPtr comm, IntPtr stream);

    [LibraryImport(LibraryName, EntryPoint = "ncclReduceScatter")]
    public static partial int ReduceScatter(IntPtr send, IntPtr receive, nuint receiveCount, int type, int op, IntPtr comm, IntPtr stream);

    [LibraryImport(LibraryName, EntryPoint = "ncclAllGather")]
    public static partial int AllGather(IntPtr send, IntPtr receive, nuint sendCount, int type, IntPtr comm, IntPtr stream);

    [LibraryImport(LibraryName, EntryPoint = "ncclGroupStart")]
    public static partial int GroupStart();

    [LibraryImport(LibraryName, EntryPoint = "ncclGroupEnd")]
    public static partial int GroupEnd();

    public static void Check(int result, string call)
    {
        if (result != 0)
        {
            string? text = Marshal.PtrToStringAnsi(GetErrorString(result));
            throw new InvalidOperationException($"{call} failed with NCCL result {result}: {text}.");
        }
    }
}
