using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Gpt2.Backends.Ilgpu;

/// <summary>The accelerators ILGPU finds on this machine.</summary>
public static class IlgpuDevices
{
    /// <summary>The number of CUDA devices ILGPU can use (0 without an NVIDIA driver).</summary>
    public static int CudaDeviceCount
    {
        get
        {
            NativeLibraries.Register();
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count;
        }
    }

    /// <summary>One line per device: kind, name, memory, warp size, compute capability; and NCCL's version.</summary>
    /// <returns>The lines.</returns>
    public static IReadOnlyList<string> Describe()
    {
        NativeLibraries.Register();
        using var context = Context.Create(b => b.Cuda());
        var lines = new List<string>();
        foreach (var cuda in context.GetCudaDevices())
        {
            lines.Add($"ilgpu cuda: {cuda.Name}, {cuda.MemorySize / (1024.0 * 1024 * 1024):F1} GiB, warp {cuda.WarpSize}, " +
                $"max group {cuda.MaxNumThreadsPerGroup}, compute capability {cuda.Architecture}, PTX ISA {cuda.InstructionSet}, driver {cuda.DriverVersion}");
        }

        if (lines.Count == 0)
        {
            lines.Add("ilgpu cuda: no device found");
        }

        lines.Add(Nccl.NcclCommunicator.Version is { } nccl ? $"nccl: {nccl} (libnccl.so.2)" : "nccl: libnccl.so.2 not found");
        var cpu = IlgpuBackend.TestCpuDevice;
        lines.Add($"ilgpu cpu: always available, simulates warps of {cpu.WarpSize} and groups of {cpu.MaxNumThreadsPerGroup} threads (for tests)");
        return lines;
    }
}
