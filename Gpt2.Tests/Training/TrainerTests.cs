using Gpt2.Backends.Cpu;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Text;
using Gpt2.Training;

namespace Gpt2.Tests.Training;

public sealed class TrainerTests : TempDirectoryTest
{
    private static (ushort[] Val, ushort[] Train)? _tokens;

    private static (ushort[] Val, ushort[] Train) Tokens =>
        _tokens ??= TinyShakespeare.Tokenize(File.ReadAllText(TestData.TinyShakespeareText), Gpt2Tokenizer.Instance);

    [Test]
    public void ResumingGivesTheLossesOfAnUninterruptedRun()
    {
        WriteShards();
        var options = Options(steps: 6) with { CheckpointEvery = 3, SampleEvery = 2, SampleTokens = 8, OutputDirectory = Path.Combine(TempDir, "a") };
        var (uninterrupted, samples) = Train(options, restoreFrom: null);
        Assert.That(uninterrupted, Has.Count.EqualTo(6));

        // a second run restores the checkpoint written after step 3 and continues
        var checkpoint = Trainer.FindLatestCheckpoint(options.OutputDirectory!);
        Assert.That(checkpoint, Is.Not.Null);
        Assert.That(Path.GetFileName(checkpoint!.Value.Model), Is.EqualTo("model_00000006.bin"), "the final checkpoint is the newest");
        string model3 = Path.Combine(options.OutputDirectory!, "model_00000003.bin");
        string state3 = Path.Combine(options.OutputDirectory!, "state_00000003.bin");
        var (resumed, resumedSamples) = Train(options with { OutputDirectory = Path.Combine(TempDir, "b") }, (model3, state3));
        Assert.That(resumed, Is.EqualTo(uninterrupted.Skip(3)), "bit-identical losses");
        Assert.That(resumedSamples, Is.EqualTo(samples.Where(s => s.Step > 3)), "the sampler continues where it was");
        Assert.That(File.ReadAllLines(Path.Combine(options.OutputDirectory!, "main.log")),
            Does.Contain($"s:5 trl:{uninterrupted[5].ToString("F4", System.Globalization.CultureInfo.InvariantCulture)}"));
    }

    [Test]
    public void ValidationLossFallsOnTinyShakespeare()
    {
        WriteShards();
        var options = Options(steps: 40) with { ValidationEvery = 40, ValidationBatches = 8 };
        var validation = new List<float>();
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L2H2C32"), backend, seed: 7);
        using var trainer = new Trainer(model, Loader("train", options), Loader("val", options), options);
        trainer.Validated += r => validation.Add(r.Loss);
        trainer.Run();
        Assert.That(validation, Has.Count.EqualTo(2));
        Assert.That(validation[0], Is.GreaterThan(10.5f), "random init: about ln(50257)");
        Assert.That(validation[1], Is.LessThan(validation[0] - 2.0f), "40 steps of 128 tokens take off at least 2 nats (2.3 measured)");
    }

    [Test]
    public void GradientAccumulationEqualsOneLargeBatchUpToRounding()
    {
        WriteShards();
        float Run(int b, int total)
        {
            var o = Options(steps: 1) with { BatchSize = b, TotalBatchTokens = total };
            using var backend = new CpuBackend();
            using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 3);
            using var trainer = new Trainer(model, Loader("train", o), null, o);
            float loss = 0;
            trainer.StepCompleted += r => loss = r.Loss;
            trainer.Run();
            var p = new float[model.Layout.Count];
            model.GetParameters(p);
            return loss + p.Sum();
        }

        Assert.That(Run(2, 4 * 32), Is.EqualTo(Run(4, 4 * 32)).Within(1e-3f));
    }

    private (List<float> Losses, List<SampleReport> Samples) Train(TrainerOptions options, (string Model, string State)? restoreFrom)
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 5);
        using var trainer = new Trainer(model, Loader("train", options), null, options);
        if (restoreFrom is { } r)
        {
            trainer.Restore(r.Model, TrainingState.Read(r.State, model.Layout.Count));
        }

        var losses = new List<float>();
        var samples = new List<SampleReport>();
        trainer.StepCompleted += s => losses.Add(s.Loss);
        trainer.Sampled += samples.Add;
        trainer.Run();
        return (losses, samples);
    }

    private static TrainerOptions Options(int steps) => new()
    {
        BatchSize = 4, SequenceLength = 32, MaxSteps = steps, ValidationEvery = 0, SampleEvery = 0,
        Schedule = new LearningRateSchedule(ScheduleKind.Cosine, 3e-3f, 5, steps, 0.1f),
        Optimizer = new AdamWOptions { Beta2 = 0.95f, WeightDecay = 0.1f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f },
    };

    private DataLoader Loader(string split, TrainerOptions o) =>
        new(Path.Combine(TempDir, $"ts_{split}.bin"), o.BatchSize, o.SequenceLength, Gpt2Config.Gpt2VocabularySize);

    private void WriteShards()
    {
        TokenShard.Write(Path.Combine(TempDir, "ts_val.bin"), Tokens.Val);
        TokenShard.Write(Path.Combine(TempDir, "ts_train.bin"), Tokens.Train);
    }
}
