using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;

namespace Gpt2.Samples.Cli;

/// <summary>The compute backends the command line can select with <c>--backend</c>, and the <c>--matmul</c> engines.</summary>
internal static class Backends
{
    public static readonly string[] Names = ["cpu", "ilgpu", "ilgpu-cuda", "ilgpu-cpu"];

    public static readonly string[] MatmulNames = ["kernel", "cublas", "cublas-tf32"];

    /// <summary>Creates a backend by name.</summary>
    /// <exception cref="UsageException">The name is unknown, or the options do not fit the backend.</exception>
    public static IComputeBackend Create(string name, int? threads, string matmul = "kernel")
    {
        var engine = matmul switch
        {
            "kernel" => MatmulEngine.Kernel,
            "cublas" => MatmulEngine.CuBlas,
            "cublas-tf32" => MatmulEngine.CuBlasTf32,
            _ => throw new UsageException($"--matmul: unknown engine '{matmul}'; available: {string.Join(", ", MatmulNames)}."),
        };
        if (name == "cpu" && engine != MatmulEngine.Kernel)
        {
            throw new UsageException("--matmul: cuBLAS engines need an ILGPU backend on CUDA (--backend ilgpu-cuda).");
        }

        try
        {
            return name switch
            {
                "cpu" => new CpuBackend(threads),
                "ilgpu" => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Auto, Matmul = engine }),
                "ilgpu-cuda" => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cuda, Matmul = engine }),
                "ilgpu-cpu" => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu, Matmul = engine }),
                _ => throw new UsageException($"--backend: unknown backend '{name}'; available: {string.Join(", ", Names)}."),
            };
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException($"--backend {name}: {e.Message}");
        }
    }

    /// <summary>One line naming the backend and its device.</summary>
    public static string Describe(IComputeBackend backend) => backend switch
    {
        CpuBackend cpu => $"cpu ({cpu.Threads} threads)",
        IlgpuBackend g => $"{g.Name} ({g.DeviceName}, matmul {g.Options.Matmul})",
        _ => backend.Name,
    };
}
