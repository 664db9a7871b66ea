using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Gpt2.Backends.Ilgpu;

/// <summary>
/// Compiles every kernel of the backend to PTX without a GPU, with ILGPU's own PTX backend, so that a kernel
/// ILGPU cannot compile for CUDA is caught on any machine (and its PTX can be checked with NVIDIA's ptxas).
/// </summary>
internal static class PtxCompiler
{
    /// <summary>All kernels: the public static methods named *Kernel of the op classes.</summary>
    public static IReadOnlyList<MethodInfo> Kernels() =>
        typeof(PtxCompiler).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(Ops.Reduce).Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal))
            .OrderBy(m => m.DeclaringType!.Name, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
            .ToArray();

    /// <summary>Compiles each kernel; returns (Type.Method, PTX text).</summary>
    public static IReadOnlyList<(string Name, string Ptx)> CompileAll(CudaArchitecture architecture, CudaInstructionSet instructionSet)
    {
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, architecture, instructionSet, nvvmAPI: null!);
        var result = new List<(string, string)>();
        foreach (var kernel in Kernels())
        {
            bool implicitlyGrouped = kernel.GetParameters()[0].ParameterType == typeof(Index1D);
            var entry = implicitlyGrouped
                ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
                : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
            var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
            result.Add(($"{kernel.DeclaringType!.Name}.{kernel.Name}", compiled.PTXAssembly));
        }

        return result;
    }
}
