using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Samples.Verify;
using static Gpt2.Tests.Samples.CliRunner;

namespace Gpt2.Tests.Samples;

/// <summary><c>gpt2 verify-ops</c>: every op of a backend against the CPU backend.</summary>
public sealed class VerifyOpsCommandTests
{
    [Test]
    public void TheIlgpuCpuAcceleratorPassesEveryOp()
    {
        var (code, output, error) = Run("verify-ops", "--backend", "ilgpu-cpu", "--seed", "3");

        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("attention backward dqkv small").And.Contain("matmul classifier small backward dweight")
            .And.Contain("flash attention backward dqkv small").And.Contain("adamw v small").And.EndWith("overall: OK (33 checks)" + Environment.NewLine));
    }

    [Test]
    public void ErrorsAboveTheToleranceFailAndExactOpsStillPass()
    {
        using var reference = new CpuBackend(2);
        using var candidate = new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
        var check = new OpCheck(reference, candidate, seed: 5);

        check.Run(OpCheck.Shape.Small, new OpCheck.Tolerance(0, 0, 0));

        var failed = check.Results.Where(r => !r.Ok).Select(r => r.Name).ToList();
        Assert.That(failed, Does.Contain("matmul fc small forward").And.Contain("layernorm forward small"), "rounding differs: nothing is within 0");
        Assert.That(check.Results.Single(r => r.Name == "fill small").Ok, "fill is exact");
        Assert.That(check.Results.Single(r => r.Name == "residual forward small").Ok, "a sum of two numbers is exact");
    }

    [TestCase("--size", "huge")]
    [TestCase("--backend", "tpu")]
    [TestCase("--matmul", "abacus")]
    public void NonsenseFlagsAreExitCode2AndNamed(string flag, string value)
    {
        var (code, _, error) = Run("verify-ops", flag, value);

        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(value));
    }
}
