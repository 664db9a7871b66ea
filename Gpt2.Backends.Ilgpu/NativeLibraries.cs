using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace Gpt2.Backends.Ilgpu;

/// <summary>
/// Points ILGPU's driver import ("cuda") at libcuda.so.1, which is all many machines and containers ship
/// (.NET probes libcuda.so, not the versioned name), our cuBLAS binding at libcublas.so.13 or .12, and NCCL's at libnccl.so.2.
/// </summary>
internal static class NativeLibraries
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1)
        {
            return;
        }

        string[] cuda = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
        string[] cublas = ["libcublas.so.13", "libcublas.so.12", "libcublas.so", "cublas64_13.dll", "cublas64_12.dll"];
        TrySet(typeof(Context).Assembly, new() { ["cuda"] = cuda });
        string[] nccl = ["libnccl.so.2", "libnccl.so"];
        TrySet(typeof(NativeLibraries).Assembly, new() { ["cuda"] = cuda, [CuBlas.CuBlasNative.LibraryName] = cublas, [Nccl.NcclNative.LibraryName] = nccl });
    }

    private static void TrySet(Assembly assembly, Dictionary<string, string[]> names)
    {
        try
        {
            NativeLibrary.SetDllImportResolver(assembly, (requested, asm, path) =>
            {
                if (!names.TryGetValue(requested, out string[]? candidates))
                {
                    return IntPtr.Zero;
                }

                foreach (string candidate in candidates)
                {
                    if (NativeLibrary.TryLoad(candidate, asm, path, out IntPtr handle))
                    {
                        return handle;
                    }
                }

                return IntPtr.Zero;
            });
        }
        catch (InvalidOperationException)
        {
            // ILGPU registers its own resolver under WSL; keep it.
        }
    }
}
