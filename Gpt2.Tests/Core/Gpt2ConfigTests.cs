using Gpt2.Model;

namespace Gpt2.Tests.Core;

public sealed class Gpt2ConfigTests
{
    [TestCase("d12", 12, 12, 768, 1024, 124_475_904L)]
    [TestCase("d24", 24, 16, 1024, 1024, 354_871_296L)]
    [TestCase("d36", 36, 20, 1280, 1024, 774_090_240L)]
    [TestCase("d48", 48, 25, 1600, 1024, 1_557_686_400L)]
    [TestCase("gpt3:c768", 12, 12, 768, 2048, 125_262_336L)]
    [TestCase("gpt3:c1536", 24, 16, 1536, 2048, 760_372_224L)]
    // Counts: Vp·C + maxT·C + L·(12C² + 13C) + 2C; d12's 124,475,904 is the figure llm.c prints.
    public void DescriptorsMatchLlmc(string descriptor, int layers, int heads, int channels, int maxT, long parameters)
    {
        var c = Gpt2Config.FromDescriptor(descriptor);
        Assert.Multiple(() =>
        {
            Assert.That(c.LayerCount, Is.EqualTo(layers));
            Assert.That(c.HeadCount, Is.EqualTo(heads));
            Assert.That(c.ChannelCount, Is.EqualTo(channels));
            Assert.That(c.MaxSequenceLength, Is.EqualTo(maxT));
            Assert.That(c.VocabularySize, Is.EqualTo(50257));
            Assert.That(c.PaddedVocabularySize, Is.EqualTo(50304));
            Assert.That(new ParameterLayout(c).Count, Is.EqualTo(parameters));
        });
    }

    [TestCase("d13")]
    [TestCase("gpt3:c100")]
    [TestCase("gpt3:cabc")]
    [TestCase("")]
    public void UnknownDescriptorsAreRejected(string descriptor)
    {
        var e = Assert.Throws<ArgumentException>(() => Gpt2Config.FromDescriptor(descriptor));
        Assert.That(e!.Message, Does.Contain(descriptor));
    }

    [TestCase(50257, 50304)]
    [TestCase(128, 128)]
    [TestCase(129, 256)]
    [TestCase(1, 128)]
    public void PadsVocabularyToMultipleOf128(int v, int vp) => Assert.That(Gpt2Config.PadVocabulary(v), Is.EqualTo(vp));

    [Test]
    public void RejectsInconsistentShapes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt2Config(8, 100, 99, 1, 1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt2Config(8, 100, 128, 1, 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt2Config(0, 100, 128, 1, 1, 4));
    }

    [Test]
    public void LayoutFollowsTrainGpt2COrder()
    {
        var layout = new ParameterLayout(new Gpt2Config(maxSequenceLength: 7, vocabularySize: 10, paddedVocabularySize: 16, layerCount: 2, headCount: 2, channelCount: 6));
        Assert.That(layout.Tensors.Select(t => t.Name), Is.EqualTo(new[]
        {
            "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
            "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
        }));
        Assert.That(layout.Tensors.Select(t => t.Length), Is.EqualTo(new long[]
        {
            16 * 6, 7 * 6, 2 * 6, 2 * 6, 2 * 18 * 6, 2 * 18, 2 * 36, 2 * 6, 2 * 6, 2 * 6, 2 * 24 * 6, 2 * 24, 2 * 6 * 24, 2 * 6, 6, 6,
        }));
        long offset = 0;
        foreach (var t in layout.Tensors)
        {
            Assert.That(t.Offset, Is.EqualTo(offset), t.Name);
            offset += t.Length;
        }

        Assert.That(layout.Count, Is.EqualTo(offset));
        Assert.That(layout.Tensors.Where(t => t.IsMatrix).Select(t => t.Name), Is.EqualTo(new[] { "wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw" }));
        Assert.That(layout["fcprojw"], Is.SameAs(layout.FcProjectionWeight));
    }

    [Test]
    public void TrainingFlopsPerTokenCountsWeightsAndAttentionAsLlmcDoes()
    {
        var d12 = Gpt2Config.FromDescriptor("d12");
        // 124,475,904 parameters, 786,432 of them the position embedding; 6·L·C·T = 6·12·768·1024
        Assert.That(d12.TrainingFlopsPerToken(1024), Is.EqualTo(6.0 * (124_475_904 - 1024 * 768) + 6.0 * 12 * 768 * 1024));
        Assert.That(d12.TrainingFlopsPerToken(64), Is.LessThan(d12.TrainingFlopsPerToken(1024)), "attention grows with T");
        Assert.Throws<ArgumentOutOfRangeException>(() => d12.TrainingFlopsPerToken(0));
    }
}
