using Gpt2.Backends;
using Gpt2.Backends.Ilgpu;
using Gpt2.Backends.Ilgpu.Nccl;
using Gpt2.Distributed;

namespace Gpt2.Samples.Cli;

/// <summary><c>--collectives</c>: how parameters and gradients travel between the processes of a job.</summary>
internal static class Collectives
{
    public static readonly string[] Names = ["auto", "host", "nccl"];

    public const string Description =
        "How gradients and parameters travel between processes: auto (NCCL between CUDA GPUs when libnccl.so.2 loads and there are several " +
        "processes, else host memory), host, or nccl (also in one process, which checks NCCL on one GPU).";

    /// <exception cref="UsageException">The name is unknown.</exception>
    public static string Check(string? name) => name is not null && Names.Contains(name) ? name
        : throw new UsageException($"--collectives: unknown value '{name}'; available: {string.Join(", ", Names)}.");

    /// <summary>The device communicator the choice asks for, or null for host memory.</summary>
    /// <exception cref="UsageException">nccl was asked for and cannot be used.</exception>
    public static IDeviceCommunicator? Create(string name, ComputeBackend backend, ICommunicator communicator)
    {
        bool cuda = backend is IlgpuBackend { IsCuda: true };
        switch (name)
        {
            case "host":
                return null;
            case "auto":
                return cuda && communicator.Size > 1 && NcclCommunicator.Version is not null ? NcclCommunicator.Create((IlgpuBackend)backend, communicator) : null;
            default:
                if (!cuda)
                {
                    throw new UsageException("--collectives nccl: needs the ILGPU backend on a CUDA GPU (--backend ilgpu-cuda).");
                }

                try
                {
                    return NcclCommunicator.Create((IlgpuBackend)backend, communicator);
                }
                catch (InvalidOperationException e)
                {
                    throw new UsageException($"--collectives nccl: {e.Message}");
                }
        }
    }
}
