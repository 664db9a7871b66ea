using System.Runtime.InteropServices;

namespace Gpt2.Backends.Ilgpu;

/// <summary>The one CUDA driver call ILGPU does not expose: free and total device memory of the current context.</summary>
internal static partial class CudaDriver
{
    [LibraryImport("cuda", EntryPoint = "cuMemGetInfo_v2")]
    private static partial int MemGetInfoNative(out nuint free, out nuint total);

    public static int MemGetInfo(out long free, out long total)
    {
        int status = MemGetInfoNative(out nuint f, out nuint t);
        free = (long)f;
        total = (long)t;
        return status;
    }
}
