using Gpt2.Model;

namespace Gpt2.Tests.Core;

public sealed class ParameterInitializerTests
{
    // Values printed by torch.manual_seed(137) as documented in llm.c's rand.h.
    [Test]
    public void GeneratorMatchesTorch()
    {
        var rng = new TorchMersenneTwister(137);
        Assert.That(Enumerable.Range(0, 5).Select(_ => rng.NextUInt32()), Is.EqualTo(new uint[] { 4053805790, 2173880614, 380293709, 1237255315, 2986595568 }));
        var t8 = new float[8];
        rng.FillNormal(t8, 0, 1);
        Assert.That(t8, Is.EqualTo(new[] { 0.7947664260864258f, 1.4369317293167114f, -0.2292192131280899f, 0.47556325793266296f,
            -0.6334410905838013f, -0.5791953802108765f, -0.0925704762339592f, -0.8659197092056274f }).Within(1e-6f));
        Assert.That(rng.NextUInt32(), Is.EqualTo(2186503452u));
        var t16 = new float[16];
        rng.FillNormal(t16, 0, 1);
        Assert.That(t16[0], Is.EqualTo(-1.2813878059387207f).Within(1e-6f));
        Assert.That(t16[15], Is.EqualTo(0.3961987793445587f).Within(1e-6f));
        Assert.That(rng.NextUInt32(), Is.EqualTo(2756748748u));
    }

    [Test]
    public void InitialisesLikeGpt2()
    {
        var config = new Gpt2Config(maxSequenceLength: 32, vocabularySize: 200, paddedVocabularySize: 256, layerCount: 4, headCount: 4, channelCount: 64);
        var layout = new ParameterLayout(config);
        var p = new float[layout.Count];
        ParameterInitializer.Initialize(layout, 42, p);
        float[] T(ParameterTensor t) => p.AsSpan((int)t.Offset, (int)t.Length).ToArray();
        static double Std(float[] a) => Math.Sqrt(a.Average(v => (double)v * v));

        Assert.Multiple(() =>
        {
            Assert.That(T(layout.Ln1Weight).Concat(T(layout.Ln2Weight)).Concat(T(layout.LnfWeight)), Is.All.EqualTo(1f));
            foreach (var b in new[] { layout.Ln1Bias, layout.QkvBias, layout.AttentionProjectionBias, layout.Ln2Bias, layout.FcBias, layout.FcProjectionBias, layout.LnfBias })
            {
                Assert.That(T(b), Is.All.EqualTo(0f), b.Name);
            }

            float[] wte = T(layout.TokenEmbedding);
            Assert.That(wte.AsSpan(200 * 64).ToArray(), Is.All.EqualTo(0f), "padding rows");
            Assert.That(Std(wte.AsSpan(0, 200 * 64).ToArray()), Is.EqualTo(0.02).Within(0.001));
            Assert.That(Std(T(layout.FcWeight)), Is.EqualTo(0.02).Within(0.001));
            Assert.That(Std(T(layout.FcProjectionWeight)), Is.EqualTo(0.02 / Math.Sqrt(8)).Within(0.0005));
        });

        var again = new float[layout.Count];
        ParameterInitializer.Initialize(layout, 42, again);
        Assert.That(again, Is.EqualTo(p), "same seed, same weights");
        ParameterInitializer.Initialize(layout, 43, again);
        Assert.That(again, Is.Not.EqualTo(p), "another seed, other weights");
    }
}
