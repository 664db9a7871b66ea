using Gpt2.Backends.Cpu;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;

namespace Gpt2.Tests.Optimization;

public sealed class AdamWTests
{
    [Test]
    public void MatricesOnlyDecayLeavesBiasesAndNormsAlone()
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(TestData.Fixture("hot", "model.bin"), backend);
        var before = new float[model.Layout.Count];
        model.GetParameters(before);
        model.ZeroGrad(); // zero gradients: only the weight decay moves parameters
        using var adamw = new AdamW(model, new AdamWOptions { WeightDecay = 0.5f, WeightDecayMode = WeightDecayMode.MatricesOnly });
        adamw.Step(0.1f);
        var after = new float[model.Layout.Count];
        model.GetParameters(after);
        foreach (var t in model.Layout.Tensors)
        {
            for (long i = t.Offset; i < t.Offset + t.Length; i++)
            {
                float expected = t.IsMatrix ? before[i] - 0.1f * 0.5f * before[i] : before[i];
                Assert.That(after[i], Is.EqualTo(expected).Within(1e-6f), $"{t.Name}[{i - t.Offset}]");
            }
        }
    }

    [TestCase(0.25f)]
    [TestCase(1e6f)]
    public void ClippingScalesTheGradientToTheMaxNorm(float maxNorm)
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(TestData.Fixture("hot", "model.bin"), backend);
        var state = DebugState.Read(TestData.Fixture("hot", "state.bin"), model.Config);
        model.Forward(state.Inputs, state.Targets, state.BatchSize, state.SequenceLength);
        model.ZeroGrad();
        model.Backward();
        var g = new float[model.Layout.Count];
        model.GetGradients(g);
        double expectedNorm = Math.Sqrt(g.Sum(x => (double)x * x));

        using var adamw = new AdamW(model, new AdamWOptions { MaxGradientNorm = maxNorm, Beta1 = 0.5f });
        float norm = adamw.Step(1e-3f);
        Assert.That(norm, Is.EqualTo(expectedNorm).Within(expectedNorm * 1e-6));
        float scale = norm > maxNorm ? maxNorm / norm : 1f;
        Assert.That(scale, maxNorm < 1 ? Is.LessThan(1f) : Is.EqualTo(1f), "the case clips or not as intended");

        // after one step the first moment is (1 - β1)·scale·g
        var m = new float[model.Layout.Count];
        backend.Download(adamw.FirstMoment.View, m);
        for (int i = 0; i < g.Length; i++)
        {
            Assert.That(m[i], Is.EqualTo(0.5f * scale * g[i]).Within(1e-6f * Math.Abs(g[i]) + 1e-12f), $"m[{i}]");
        }
    }
}
