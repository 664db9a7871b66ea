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
        backend.Download(adamw.FirstMoment, m);
        for (int i = 0; i < g.Length; i++)
        {
            Assert.That(m[i], Is.EqualTo(0.5f * scale * g[i]).Within(1e-6f * Math.Abs(g[i]) + 1e-12f), $"m[{i}]");
        }
    }

    [TestCase(3)]
    [TestCase(2)]
    public void ShardsUpdateLikeOneOptimizer(int shards)
    {
        // ZeRO stage 1 in one process: each shard updates its own range with the norm summed over the shards
        using var backend = new CpuBackend();
        using var whole = Gpt2Model.Load(TestData.Fixture("hot", "model.bin"), backend);
        using var sharded = Gpt2Model.Load(TestData.Fixture("hot", "model.bin"), backend);
        var state = DebugState.Read(TestData.Fixture("hot", "state.bin"), whole.Config);
        var options = new AdamWOptions { WeightDecay = 0.1f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 0.5f };
        int[] counts = Gpt2.Distributed.Communicators.Split(whole.Layout.Count, shards);
        using var full = new AdamW(whole, options);
        var parts = Enumerable.Range(0, shards)
            .Select(r => new AdamW(sharded, options, Gpt2.Distributed.Communicators.Offset(counts, r), counts[r])).ToList();
        try
        {
            for (int step = 0; step < 3; step++)
            {
                foreach (var m in new[] { whole, sharded })
                {
                    m.Forward(state.Inputs, state.Targets, state.BatchSize, state.SequenceLength);
                    m.ZeroGrad();
                    m.Backward();
                }

                float norm = full.Step(1e-2f);
                float shardedNorm = MathF.Sqrt(parts.Sum(p => p.SumOfSquaredGradients()));
                Assert.That(shardedNorm, Is.EqualTo(norm).Within(1e-3f).Percent, "float sums in another order");
                foreach (var p in parts)
                {
                    // the whole optimizer's norm (equal to the shards' up to rounding) keeps the two models bit-identical
                    Assert.That(p.Step(1e-2f, norm), Is.EqualTo(norm));
                }
            }

            var a = new float[whole.Layout.Count];
            var b = new float[whole.Layout.Count];
            whole.GetParameters(a);
            sharded.GetParameters(b);
            Assert.That(b, Is.EqualTo(a), "every parameter updated once, by the shard that owns it, with its own moments and decay");
            Assert.That(parts.Sum(p => p.ShardLength), Is.EqualTo(whole.Layout.Count));
            Assert.That(parts[^1].FirstMoment.Length, Is.EqualTo(counts[^1]), "each shard holds only its own moments");
        }
        finally
        {
            parts.ForEach(p => p.Dispose());
        }
    }
}
