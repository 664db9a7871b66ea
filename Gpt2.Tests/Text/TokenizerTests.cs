using Gpt2.Text;

namespace Gpt2.Tests.Text;

public sealed class TokenizerTests
{
    [Test]
    public void EncodesLikeGpt2()
    {
        var t = Gpt2Tokenizer.Instance;
        Assert.That(t.Encode("Hello world"), Is.EqualTo(new[] { 15496, 995 }));
        Assert.That(t.Encode("<|endoftext|>"), Is.EqualTo(new[] { Gpt2Tokenizer.EndOfText }));
        Assert.That(t.Decode(t.Encode("First Citizen:\nBefore we proceed")), Is.EqualTo("First Citizen:\nBefore we proceed"));
    }

    [Test]
    public void StreamingNeverEmitsHalfACharacter()
    {
        var t = Gpt2Tokenizer.Instance;
        const string text = "naïve café — 😀 日本語";
        var tokens = t.Encode(text);
        Assert.That(tokens.Count, Is.GreaterThan(text.Length / 2), "multi-byte characters span several tokens");
        var decoder = new StreamingDecoder(t);
        var pieces = tokens.Select(decoder.Push).ToList();
        pieces.Add(decoder.Flush());
        Assert.That(pieces, Has.None.Contain('\uFFFD'));
        Assert.That(string.Concat(pieces), Is.EqualTo(text));
    }

    [Test]
    public void SamplerIsGreedyAtZeroTemperatureAndReproducible()
    {
        float[] logits = [0.1f, 2.5f, -1f, 2.4f];
        Assert.That(new TokenSampler(1) { Temperature = 0 }.Sample(logits), Is.EqualTo(1));
        Assert.That(new TokenSampler(1) { TopK = 1 }.Sample(logits), Is.EqualTo(1));
        var a = new TokenSampler(42);
        var draws = Enumerable.Range(0, 2000).Select(_ => a.Sample(logits)).ToArray();
        double p1 = Math.Exp(2.5) / logits.Sum(x => Math.Exp(x));
        Assert.That(draws.Count(d => d == 1) / 2000.0, Is.EqualTo(p1).Within(0.04), "frequencies follow the softmax");
        var b = new TokenSampler(42);
        Assert.That(Enumerable.Range(0, 2000).Select(_ => b.Sample(logits)), Is.EqualTo(draws), "same seed, same draws");
        var c = new TokenSampler(7) { TopP = 0.45f };
        Assert.That(Enumerable.Range(0, 200).Select(_ => c.Sample(logits)).Distinct(), Is.EquivalentTo(new[] { 1 }), "p(top) = 0.49 already covers 0.45");
        var d = new TokenSampler(7) { TopP = 0.9f };
        Assert.That(Enumerable.Range(0, 400).Select(_ => d.Sample(logits)).Distinct(), Is.EquivalentTo(new[] { 1, 3 }), "the top two cover 0.94");
    }
}
