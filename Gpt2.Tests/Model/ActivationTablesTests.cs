using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Model;

namespace Gpt2.Tests.Model;

/// <summary>The parameter and activation tables: offsets and views derived from the rows, activation gradients of one layer's worth.</summary>
public sealed class ActivationTablesTests
{
    [Test]
    public void OffsetsFollowTheRowsAndLayerViewsSliceThem()
    {
        var config = Gpt2Config.FromDescriptor("L3H2C16");
        var layout = new ParameterLayout(config);
        long offset = 0;
        foreach (var row in layout.Tensors)
        {
            Assert.That(row.Offset, Is.EqualTo(offset), row.Name);
            offset += row.Length;
        }

        Assert.That(layout.Count, Is.EqualTo(offset));
        Assert.That(layout.Tensors.Select(t => t.Name), Is.EqualTo(new[]
        {
            "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
        }), "llm.c's order");

        using var backend = new CpuBackend(1);
        using var model = new Gpt2Model(config, backend);
        var qkvw = model.Parameters.QkvWeight[2];
        Assert.That(qkvw.Shape, Is.EqualTo(new TensorShape(48, 16)));
        Assert.That(qkvw.Offset, Is.EqualTo(layout.QkvWeight.Offset + 2 * layout.QkvWeight.LayerLength));
        Assert.That(model.Gradients["fcb"].Shape, Is.EqualTo(new TensorShape(3, 64)));
    }

    [Test]
    public void ActivationGradientsHoldOneLayersWorth()
    {
        const int b = 2, t = 5;
        var shallow = Gpt2Model.MeasureActivations(Gpt2Config.FromDescriptor("L1H2C16"), b, t);
        var deep = Gpt2Model.MeasureActivations(Gpt2Config.FromDescriptor("L6H2C16"), b, t);
        Assert.That(deep.GradientBytes, Is.EqualTo(shallow.GradientBytes), "reused by every layer");
        long btc = b * t * 16L, vp = Gpt2Config.FromDescriptor("L1H2C16").PaddedVocabularySize;
        Assert.That(shallow.GradientBytes, Is.EqualTo(4 * 16 * btc), "lnf, residual and the block's ln1, qkv, atty, ln2, fch, fch_gelu");
        // per layer: 18 (B,T,C) columns (ln1, qkv 3, atty, attproj, residual2, ln2, fch 4, fch_gelu 4, fcproj, residual3), 4 (B,T) statistics and the (B,NH,T,T) probabilities
        long perLayer = 18 * btc + 4L * b * t + (long)b * 2 * t * t;
        Assert.That(deep.ActivationBytes - shallow.ActivationBytes, Is.EqualTo(4 * 5 * perLayer));
        Assert.That(shallow.ActivationBytes, Is.EqualTo(4 * (perLayer + 2L * b * t + 2 * btc + 3L * b * t + 2 * b * t * vp)),
            "tokens, targets, encoded, lnf with its statistics, logits, probabilities, losses");
    }

    [Test]
    public void LogitsAreGoneAfterBackward()
    {
        using var backend = new CpuBackend(1);
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend);
        int[] tokens = [1, 2, 3, 4];
        model.Forward(tokens, tokens, 1, 4);
        var logits = new float[4 * model.Config.PaddedVocabularySize];
        model.GetLogits(logits);
        model.Backward();
        Assert.Throws<InvalidOperationException>(() => model.GetLogits(logits), "the backward writes the logits' gradient over them");
        model.Forward(tokens, 1, 4);
        Assert.DoesNotThrow(() => model.GetLogits(logits));
    }
}
