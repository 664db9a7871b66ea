using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Samples.Verify;

namespace Gpt2.Tests.Model;

/// <summary>
/// The whole model against the float64 PyTorch fixtures, with <c>gpt2 verify</c>'s tolerances, on the CPU backend
/// and on the ILGPU kernels run by ILGPU's CPU accelerator, with standard and with flash attention.
/// </summary>
[TestFixtureSource(nameof(Cases))]
public sealed class FixtureTests(string fixture, string backendName)
{
    public static IEnumerable<object[]> Cases =>
        TestData.Fixtures.SelectMany(f => new[] { new object[] { f, "cpu" }, new object[] { f, "cpu-flash" }, new object[] { f, "ilgpu-cpu" }, new object[] { f, "ilgpu-cpu-flash" } });

    [Test]
    public void ForwardBackwardAndTenStepsMatchPyTorch()
    {
        using ComputeBackend backend = backendName.StartsWith("cpu", StringComparison.Ordinal)
            ? new CpuBackend()
            : new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
        using var model = Gpt2Model.Load(TestData.Fixture(fixture, "model.bin"), backend);
        model.Attention = backendName.EndsWith("-flash", StringComparison.Ordinal) ? AttentionKind.Flash : AttentionKind.Standard;
        var state = DebugState.Read(TestData.Fixture(fixture, "state.bin"), model.Config);
        var verifier = new Verifier(new Tolerances());

        var step0 = verifier.CheckStep0(model, state, out _, out _, out float[] gradients);
        Assert.That(step0.Where(c => !c.Ok).Select(c => $"{c.Name}: {c.MaxAbsError:E2} {c.Note}"), Is.Empty);
        var c = model.Config;
        Assert.That(gradients.AsSpan(c.VocabularySize * c.ChannelCount, (c.PaddedVocabularySize - c.VocabularySize) * c.ChannelCount).ToArray(),
            Is.All.EqualTo(0f), "wte padding rows get exactly zero gradient");

        var losses = Verifier.Train(model, state, 10);
        var lossChecks = verifier.CheckLosses(losses, Verifier.ReadLosses(TestData.Fixture(fixture, "losses.txt")));
        Assert.That(lossChecks.Where(x => !x.Ok).Select(x => $"{x.Name}: {x.MaxAbsError:E2}"), Is.Empty);
        var expected = ModelFile.Read(TestData.Fixture(fixture, "model_final.bin")).Parameters;
        var initial = ModelFile.Read(TestData.Fixture(fixture, "model.bin")).Parameters;
        var paramChecks = verifier.CheckParameters(model, initial, expected);
        Assert.That(paramChecks.Where(x => !x.Ok).Select(x => $"{x.Name}: {x.MaxAbsError:E2}"), Is.Empty);
    }
}
