using System.Diagnostics;
using Gpt2.Backends.Ilgpu;
using ILGPU.Runtime.Cuda;

namespace Gpt2.Tests.Backends.Ilgpu;

/// <summary>
/// Every kernel compiles to PTX without a GPU, and NVIDIA's ptxas accepts it for sm_80 and sm_90. PTX ISA 7.8 is
/// the newest the ptxas of Debian's CUDA 11.8 toolkit reads; drivers JIT it for newer GPUs. ptxas is found through
/// the PTXAS environment variable or PATH; CI provides it and sets GPT2_REQUIRE_PTXAS=1 so a missing one fails.
/// </summary>
public sealed class PtxTests
{
    private static IReadOnlyList<(string Name, string Ptx)>? _ptx;

    private static IReadOnlyList<(string Name, string Ptx)> Ptx => _ptx ??= PtxCompiler.CompileAll(CudaArchitecture.SM_90, CudaInstructionSet.ISA_78);

    [Test]
    public void EveryKernelCompilesToPtx()
    {
        Assert.That(PtxCompiler.Kernels(), Has.Count.GreaterThanOrEqualTo(20), "kernels are discovered");
        foreach (var (name, ptx) in Ptx)
        {
            Assert.That(ptx, Does.Contain(".entry").And.Contain(".version 7.8"), name);
        }

        Assert.That(Ptx.Single(k => k.Name == "Matmul.GemmKernel").Ptx, Does.Contain("bar.sync").And.Contain(".shared"));
        Assert.That(Ptx.Single(k => k.Name == "LayerNorm.ForwardKernel").Ptx, Does.Contain("shfl.sync.bfly"));
        Assert.That(string.Concat(Ptx.Select(k => k.Ptx)), Does.Not.Contain("tanh.approx"), "tanh must not use the approximate instruction");
    }

    [TestCase("sm_80")]
    [TestCase("sm_90")]
    public void PtxasAcceptsEveryKernel(string arch)
    {
        string? ptxas = FindPtxas();
        if (ptxas is null)
        {
            if (Environment.GetEnvironmentVariable("GPT2_REQUIRE_PTXAS") == "1")
            {
                Assert.Fail("ptxas not found (set PTXAS or put it on PATH)");
            }

            Assert.Ignore("ptxas not found; set PTXAS to run this check");
        }

        string dir = TestData.NewTempDirectory();
        try
        {
            foreach (var (name, ptx) in Ptx)
            {
                string file = Path.Combine(dir, name + ".ptx");
                File.WriteAllText(file, ptx);
                var psi = new ProcessStartInfo(ptxas, ["-arch=" + arch, file, "-o", Path.Combine(dir, name + ".cubin")])
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                };
                using var p = Process.Start(psi)!;
                string err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Assert.That(p.ExitCode, Is.EqualTo(0), $"{name} for {arch}: {err}");
            }
        }
        finally
        {
            TestData.Delete(dir);
        }
    }

    private static string? FindPtxas()
    {
        string? env = Environment.GetEnvironmentVariable("PTXAS");
        if (!string.IsNullOrEmpty(env))
        {
            return File.Exists(env) ? env : null;
        }

        return TestData.FindOnPath("ptxas");
    }
}
