using System.Buffers.Binary;
using Gpt2.Formats;
using Gpt2.Samples.Verify;
using static Gpt2.Tests.Samples.CliRunner;

namespace Gpt2.Tests.Samples;

public sealed class VerifyCommandTests : TempDirectoryTest
{
    [Test]
    public void PassesOnAFixtureAndDumpsItsResults()
    {
        string dumpState = Path.Combine(TempDir, "state.bin"), dumpLosses = Path.Combine(TempDir, "losses.txt"), dumpModel = Path.Combine(TempDir, "final.bin");
        var (code, output, error) = Run("verify", "--model", F("bf16", "model.bin"), "--state", F("bf16", "state.bin"),
            "--expected-losses", F("bf16", "losses.txt"), "--expected-model", F("bf16", "model_final.bin"),
            "--dump-state", dumpState, "--dump-losses", dumpLosses, "--dump-model", dumpModel, "--threads", "2");
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("dqkvw").And.Contain("step 9 loss").And.EndWith("overall: OK" + Environment.NewLine));

        // the dumps are our own results, which the reference accepts by the same checks
        var config = ModelFile.ReadHeader(F("bf16", "model.bin")).Config;
        var ours = DebugState.Read(dumpState, config);
        var reference = DebugState.Read(F("bf16", "state.bin"), config);
        Assert.That(ours.Inputs, Is.EqualTo(reference.Inputs));
        Assert.That(ours.Loss, Is.EqualTo(reference.Loss).Within(1e-5f));
        Assert.That(ours.Gradients, Is.EqualTo(reference.Gradients).Within(1e-5f));
        var losses = Verifier.ReadLosses(dumpLosses);
        Assert.That(losses, Is.EqualTo(Verifier.ReadLosses(F("bf16", "losses.txt"))).Within(2e-4));
        var (finalConfig, format, final) = ModelFile.Read(dumpModel);
        Assert.That((finalConfig, format), Is.EqualTo((config, ModelFileFormat.Float32)));
        Assert.That(final, Is.EqualTo(ModelFile.Read(F("bf16", "model_final.bin")).Parameters).Within(1e-3f));
    }

    [TestCase("cpu")]
    [TestCase("ilgpu-cpu")]
    public void FlashAttentionPassesAFixture(string backend)
    {
        var (code, output, error) = Run("verify", "--model", F("hot", "model.bin"), "--state", F("hot", "state.bin"),
            "--expected-losses", F("hot", "losses.txt"), "--expected-model", F("hot", "model_final.bin"), "--backend", backend, "--attention", "flash");
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("flash attention").And.EndWith("overall: OK" + Environment.NewLine));
        var nonsense = Run("verify", "--model", F("hot", "model.bin"), "--state", F("hot", "state.bin"), "--attention", "fast");
        Assert.That(nonsense.Code, Is.EqualTo(2));
        Assert.That(nonsense.Error, Does.Contain("'fast' not recognized").And.Contain("'flash'"));
    }

    // bf16 parameters and activations against the float64 reference, with the bf16 tolerances (Tolerances.BFloat16)
    [TestCaseSource(typeof(TestData), nameof(TestData.Fixtures))]
    public void Bf16PassesEveryFixtureWithinBf16Tolerances(string fixture)
    {
        var (code, output, error) = Run("verify", "--model", F(fixture, "model.bin"), "--state", F(fixture, "state.bin"),
            "--expected-losses", F(fixture, "losses.txt"), "--expected-model", F(fixture, "model_final.bin"), "--precision", "bf16");
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain(", bf16").And.EndWith("overall: OK" + Environment.NewLine));
    }

    [Test]
    public void Bf16OnABackendWithoutItIsExitCode2()
    {
        var (code, _, error) = Run("verify", "--model", F("tiny", "model.bin"), "--state", F("tiny", "state.bin"), "--precision", "bf16", "--backend", "ilgpu-cpu");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--precision bf16").And.Contain("ilgpu-cpu backend does not implement bf16"));
    }

    [Test]
    public void Bf16ToleranceStillCatchesAWrongGradient()
    {
        // one gradient of the reference off by 0.5 (a bug's size, not bf16 rounding's): the bf16 check fails on it
        var bytes = File.ReadAllBytes(F("tiny", "state.bin"));
        int firstGradient = 1024 + (2 * 10 + 10 * 61 + 1) * 4;
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(firstGradient), BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(firstGradient)) + 0.5f);
        string state = Path.Combine(TempDir, "state.bin");
        File.WriteAllBytes(state, bytes);
        var (code, output, _) = Run("verify", "--model", F("tiny", "model.bin"), "--state", state, "--steps", "0", "--precision", "bf16");
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Match(@"dwte\s+5\.\d\dE-001.*FAIL"));
    }

    [Test]
    public void FailsWithExitCode1WhenTheReferenceDisagrees()
    {
        var bytes = File.ReadAllBytes(F("tiny", "state.bin"));
        int lossOffset = 1024 + (2 * 10 + 10 * 61) * 4;
        float loss = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(lossOffset));
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(lossOffset), loss + 1e-3f);
        string state = Path.Combine(TempDir, "state.bin");
        File.WriteAllBytes(state, bytes);
        var (code, output, _) = Run("verify", "--model", F("tiny", "model.bin"), "--state", state, "--steps", "0");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(output, Does.Match(@"loss\s+1\.00E-003.*FAIL").And.Contain("overall: FAIL"));
    }

    [Test]
    public void MissingFileIsExitCode2AndNamed()
    {
        string missing = Path.Combine(TempDir, "missing.bin");
        var (code, output, error) = Run("verify", "--model", missing, "--state", F("tiny", "state.bin"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(missing));
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void StateOfAnotherModelIsExitCode2()
    {
        var (code, _, error) = Run("verify", "--model", F("tiny", "model.bin"), "--state", F("hot", "state.bin"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(F("hot", "state.bin")));
    }

    [TestCase("--backend", "tpu")]
    [TestCase("--steps", "-1")]
    [TestCase("--steps", "ten")]
    [TestCase("--threads", "0")]
    [TestCase("--frobnicate", "1")]
    public void NonsenseFlagsAreExitCode2AndNamed(string flag, string value)
    {
        var (code, _, error) = Run("verify", "--model", F("tiny", "model.bin"), "--state", F("tiny", "state.bin"), flag, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(flag == "--frobnicate" ? flag : value));
    }

    [Test]
    public void NothingIsWrittenOnBadInput()
    {
        string dump = Path.Combine(TempDir, "final.bin");
        var (code, _, _) = Run("verify", "--model", F("tiny", "model.bin"), "--state", F("hot", "state.bin"), "--dump-model", dump);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(File.Exists(dump), Is.False);
    }

    private static string F(string fixture, string file) => TestData.Fixture(fixture, file);
}
