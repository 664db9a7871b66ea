using Gpt2.Backends;
using Gpt2.Backends.Cpu;

namespace Gpt2.Samples.Cli;

/// <summary>The compute backends the command line can select with <c>--backend</c>.</summary>
internal static class Backends
{
    public static readonly string[] Names = ["cpu"];

    /// <summary>Creates a backend by name.</summary>
    /// <exception cref="UsageException">The name is unknown.</exception>
    public static IComputeBackend Create(string name, int? threads) => name switch
    {
        "cpu" => new CpuBackend(threads),
        _ => throw new UsageException($"--backend: unknown backend '{name}'; available: {string.Join(", ", Names)}."),
    };
}
