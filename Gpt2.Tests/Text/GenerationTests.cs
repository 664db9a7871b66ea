using Gpt2.Backends.Cpu;
using Gpt2.Model;
using Gpt2.Text;

namespace Gpt2.Tests.Text;

/// <summary>The public generation API: reproducible, streaming forms agree, stops for the right reason.</summary>
public sealed class GenerationTests
{
    private CpuBackend _backend = null!;
    private Gpt2Model _model = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _backend = new CpuBackend();
        _model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L2H2C32"), _backend, seed: 11);
    }

    [OneTimeTearDown]
    public void Unload()
    {
        _model.Dispose();
        _backend.Dispose();
    }

    [Test]
    public async Task StreamingFormsGiveTheSameTokensAndText()
    {
        var options = new GenerationOptions { MaxTokens = 20, Seed = 5 };
        var result = _model.Generate("Hello", options);
        Assert.That(result.Tokens, Has.Count.EqualTo(20));
        Assert.That(result.StopReason, Is.EqualTo(GenerationStopReason.MaxTokens));
        Assert.That(result.Text, Is.EqualTo(Gpt2Tokenizer.Instance.Decode(result.Tokens)), "the pieces add up to the decoded tokens");

        var streamed = _model.GenerateTokens("Hello", options).ToList();
        var asynchronous = new List<GeneratedToken>();
        await foreach (var token in _model.GenerateAsync("Hello", options))
        {
            asynchronous.Add(token);
        }

        Assert.That(streamed.Select(t => t.Id), Is.EqualTo(result.Tokens));
        Assert.That(string.Concat(streamed.Select(t => t.Text)), Is.EqualTo(result.Text));
        Assert.That(asynchronous, Is.EqualTo(streamed));
        Assert.That(_model.Generate("Hello", options with { Seed = 6 }).Tokens, Is.Not.EqualTo(result.Tokens), "another seed, another sample");
    }

    [Test]
    public void GreedyGenerationFollowsTheArgmaxOfAFullForwardPass()
    {
        var result = _model.Generate("The", new GenerationOptions { MaxTokens = 6, Temperature = 0 });
        var context = new List<int> { Gpt2Tokenizer.EndOfText };
        context.AddRange(Gpt2Tokenizer.Instance.Encode("The"));
        int vp = _model.Config.PaddedVocabularySize, v = _model.Config.VocabularySize;
        foreach (int generated in result.Tokens)
        {
            int t = context.Count;
            _model.Forward([.. context], 1, t);
            var logits = new float[t * vp];
            _model.GetLogits(logits);
            var last = logits.AsSpan((t - 1) * vp, v);
            Assert.That(generated, Is.EqualTo(last.IndexOf(TensorMax(last))), $"token {context.Count}");
            context.Add(generated);
        }
    }

    [Test]
    public void StopsAtTheContextOrAtEndOfText()
    {
        int maxT = _model.Config.MaxSequenceLength;
        var full = _model.Generate("", new GenerationOptions { MaxTokens = maxT + 10, Seed = 3 });
        Assert.That(full.StopReason, Is.EqualTo(GenerationStopReason.ContextFull));
        Assert.That(full.Tokens, Has.Count.EqualTo(maxT), "the end-of-text token plus maxT - 1 fed tokens leave room for maxT drawn");

        // a greedy model that always answers end-of-text: bias the classifier through the shared embedding row
        var parameters = new float[_model.Layout.Count];
        _model.GetParameters(parameters);
        var changed = (float[])parameters.Clone();
        int c = _model.Config.ChannelCount;
        var lnf = _model.Layout.Tensors.Single(t => t.Name == "lnfb");
        for (int i = 0; i < c; i++)
        {
            changed[lnf.Offset + i] = 1f;
            changed[(long)Gpt2Tokenizer.EndOfText * c + i] = 50f;
        }

        _model.SetParameters(changed);
        try
        {
            var stopped = _model.Generate("a", new GenerationOptions { MaxTokens = 10, Temperature = 0, StopAtEndOfText = true });
            Assert.That(stopped.Tokens, Is.EqualTo(new[] { Gpt2Tokenizer.EndOfText }));
            Assert.That(stopped.StopReason, Is.EqualTo(GenerationStopReason.EndOfText));
            var kept = _model.Generate("a", new GenerationOptions { MaxTokens = 3, Temperature = 0, StopAtEndOfText = false });
            Assert.That(kept.Tokens, Is.EqualTo(Enumerable.Repeat(Gpt2Tokenizer.EndOfText, 3)), "with the flag off generation goes on");
        }
        finally
        {
            _model.SetParameters(parameters);
        }
    }

    [Test]
    public void BadPromptsAndOptionsAreRejectedBeforeAnythingRuns()
    {
        string tooLong = string.Concat(Enumerable.Repeat(" word", _model.Config.MaxSequenceLength));
        var e = Assert.Throws<ArgumentException>(() => _model.GenerateTokens(tooLong));
        Assert.That(e!.ParamName, Is.EqualTo("prompt"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _model.Generate("", new GenerationOptions { TopP = 0 }))!.ParamName, Is.EqualTo("TopP"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _model.Generate("", new GenerationOptions { MaxTokens = 0 }))!.ParamName, Is.EqualTo("MaxTokens"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _model.Generate("", new GenerationOptions { Temperature = float.NaN }))!.ParamName, Is.EqualTo("Temperature"));
    }

    [Test]
    public void CancellationStopsAsyncGeneration()
    {
        using var cancel = new CancellationTokenSource();
        int received = 0;
        Assert.CatchAsync<OperationCanceledException>(async () =>
        {
            await foreach (var token in _model.GenerateAsync("", new GenerationOptions { MaxTokens = 50 }, cancel.Token))
            {
                if (++received == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        Assert.That(received, Is.EqualTo(3));
    }

    private static float TensorMax(ReadOnlySpan<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float x in values)
        {
            max = Math.Max(max, x);
        }

        return max;
    }
}
