using Gpt2.Backends.Cpu;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Samples.Verify;

namespace Gpt2.Tests.Model;

public sealed class Gpt2ModelTests : TempDirectoryTest
{
    [Test]
    public void ResultsDoNotDependOnThreadCount()
    {
        float[] Run(int threads)
        {
            using var backend = new CpuBackend(threads);
            using var model = Gpt2Model.Load(TestData.Fixture("wide", "model.bin"), backend);
            var state = DebugState.Read(TestData.Fixture("wide", "state.bin"), model.Config);
            Verifier.Train(model, state, 3);
            var p = new float[model.Layout.Count];
            model.GetParameters(p);
            var g = new float[model.Layout.Count];
            model.GetGradients(g);
            return [.. p, .. g];
        }

        Assert.That(Run(1), Is.EqualTo(Run(3)), "bit-identical");
    }

    [Test]
    public void InferenceLogitsEqualTrainingLogits()
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(TestData.Fixture("hot", "model.bin"), backend);
        var state = DebugState.Read(TestData.Fixture("hot", "state.bin"), model.Config);
        int n = state.BatchSize * state.SequenceLength * model.Config.PaddedVocabularySize;
        model.Forward(state.Inputs, state.Targets, state.BatchSize, state.SequenceLength);
        var withTargets = new float[n];
        model.GetLogits(withTargets);
        model.Forward(state.Inputs, state.BatchSize, state.SequenceLength);
        var without = new float[n];
        model.GetLogits(without);
        Assert.That(without, Is.EqualTo(withTargets));
        Assert.That(model.LastLoss, Is.NaN);
        Assert.Throws<InvalidOperationException>(() => model.Backward(), "no targets, nothing to back-propagate");
    }

    [Test]
    public void ChangingBatchShapeReallocates()
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(TestData.Fixture("tiny", "model.bin"), backend);
        var state = DebugState.Read(TestData.Fixture("tiny", "state.bin"), model.Config);
        float expected = model.Forward(state.Inputs, state.Targets, state.BatchSize, state.SequenceLength);
        int[] one = state.Inputs[..3], oneT = state.Targets[..3];
        float other = model.Forward(one, oneT, 1, 3);
        Assert.That(model.BatchSize, Is.EqualTo(1));
        Assert.That(other, Is.Not.EqualTo(expected));
        Assert.That(model.Forward(state.Inputs, state.Targets, state.BatchSize, state.SequenceLength), Is.EqualTo(expected));
    }

    [Test]
    public void BadInputsAreRejected()
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(TestData.Fixture("tiny", "model.bin"), backend);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([1, 61], [1, 2], 1, 2));
        Assert.That(e!.ParamName, Is.EqualTo("inputs"));
        Assert.Throws<ArgumentException>(() => model.Forward([1, 2, 3], [1, 2], 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(new int[9], new int[9], 1, 9), "T above maxT");
    }

    [Test]
    public void SaveAndLoadRoundTrip()
    {
        using var backend = new CpuBackend();
        var config = new Gpt2Config(maxSequenceLength: 8, vocabularySize: 50, paddedVocabularySize: 128, layerCount: 2, headCount: 2, channelCount: 10);
        using var model = Gpt2Model.CreateRandom(config, backend, seed: 7);
        string path = Path.Combine(TempDir, "m.bin");
        model.Save(path);
        using var loaded = Gpt2Model.Load(path, backend);
        var a = new float[model.Layout.Count];
        var b = new float[model.Layout.Count];
        model.GetParameters(a);
        loaded.GetParameters(b);
        Assert.That(b, Is.EqualTo(a));
        var expected = new float[model.Layout.Count];
        ParameterInitializer.Initialize(model.Layout, 7, expected);
        Assert.That(a, Is.EqualTo(expected));
    }
}
