using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Model;
using System.CommandLine;

namespace Gpt2.Samples.Cli;

/// <summary>The compute backends the command line can select with <c>--backend</c>, and the <c>--matmul</c> engines.</summary>
internal static class Backends
{
    public static readonly string[] Names = ["cpu", "ilgpu", "ilgpu-cuda", "ilgpu-cpu"];

    public static readonly string[] MatmulNames = ["auto", "kernel", "cublas", "cublas-tf32"];

    /// <summary>The <c>--attention</c> kinds.</summary>
    public static readonly string[] AttentionNames = ["standard", "flash"];

    /// <summary>The <c>--attention</c> option of train, bench and verify.</summary>
    public static Option<string> AttentionOption()
    {
        var option = new Option<string>("--attention")
        {
            Description = "Attention: standard (batched products, keeps the (B,NH,T,T) probabilities) or flash (tiled with an online softmax, " +
                "keeps (B,NH,T); every backend, head sizes up to 128 on ILGPU).",
            DefaultValueFactory = _ => "standard",
        };
        option.AcceptOnlyFromAmong(AttentionNames);
        return option;
    }

    /// <summary>Sets the model's attention from <c>--attention</c>, refusing a kind the backend does not run.</summary>
    public static void SetAttention(Gpt2Model model, string name)
    {
        var kind = name switch
        {
            "standard" => AttentionKind.Standard,
            "flash" => AttentionKind.Flash,
            _ => throw new UsageException($"--attention: unknown kind '{name}'; available: {string.Join(", ", AttentionNames)}."),
        };
        if (!model.Backend.Supports(kind))
        {
            throw new UsageException($"--attention {name}: the {model.Backend.Name} backend has no {name} attention.");
        }

        int hs = model.Config.ChannelCount / model.Config.HeadCount;
        if (kind == AttentionKind.Flash && model.Backend is IlgpuBackend && hs > 128)
        {
            throw new UsageException($"--attention flash: the ILGPU kernels hold head sizes up to 128; this model's is {hs}. Use --attention standard or --backend cpu.");
        }

        model.Attention = kind;
    }

    /// <summary>The <c>--precision</c> option of train and bench.</summary>
    public static Option<string> PrecisionOption()
    {
        var option = new Option<string>("--precision")
        {
            Description = "Parameters, gradients and activations in fp32, or bf16 with fp32 math, fp32 optimizer state and fp32 master weights " +
                "(written to bf16 with stochastic rounding); bf16 runs on the CPU backend, in one process.",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16");
        return option;
    }

    /// <summary>The element type of <c>--precision</c>, refused where the backend does not implement it.</summary>
    public static ElementType Precision(ComputeBackend backend, string name)
    {
        var type = name == "bf16" ? ElementType.BFloat16 : ElementType.Float32;
        if (!backend.Supports(type))
        {
            throw new UsageException($"--precision {name}: the {backend.Name} backend does not implement {name} yet; use --backend cpu or --precision fp32.");
        }

        return type;
    }

    /// <summary>The help text of <c>--matmul</c>.</summary>
    public const string MatmulDescription =
        "Matmul engine of the ILGPU backend: auto (cuBLAS with TF32 on CUDA, else kernel), kernel (our ILGPU GEMM), cublas (fp32) or cublas-tf32.";

    /// <summary>Creates a backend by name; on CUDA, process <paramref name="localRank"/> of a machine takes GPU localRank mod GPUs.</summary>
    /// <exception cref="UsageException">The name is unknown, or the options do not fit the backend.</exception>
    public static ComputeBackend Create(string name, int? threads, string matmul = "auto", int localRank = 0)
    {
        var engine = matmul switch
        {
            "auto" => MatmulEngine.Auto,
            "kernel" => MatmulEngine.Kernel,
            "cublas" => MatmulEngine.CuBlas,
            "cublas-tf32" => MatmulEngine.CuBlasTf32,
            _ => throw new UsageException($"--matmul: unknown engine '{matmul}'; available: {string.Join(", ", MatmulNames)}."),
        };
        if (name == "cpu" && engine is not (MatmulEngine.Kernel or MatmulEngine.Auto))
        {
            throw new UsageException("--matmul: cuBLAS engines need an ILGPU backend on CUDA (--backend ilgpu-cuda).");
        }

        try
        {
            int gpu = localRank > 0 && name is "ilgpu" or "ilgpu-cuda" ? localRank % Math.Max(1, IlgpuDevices.CudaDeviceCount) : 0;
            return name switch
            {
                "cpu" => new CpuBackend(threads),
                "ilgpu" => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Auto, Matmul = engine, DeviceIndex = gpu }),
                "ilgpu-cuda" => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cuda, Matmul = engine, DeviceIndex = gpu }),
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
    public static string Describe(ComputeBackend backend) => backend switch
    {
        CpuBackend cpu => $"cpu ({cpu.Threads} threads)",
        IlgpuBackend g => $"{g.Name} ({g.DeviceName}, matmul {g.Matmul})",
        _ => backend.Name,
    };
}
