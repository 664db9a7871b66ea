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
    private static (ushort[] Val, ushort[] Train) Tokens => TestData.TinyShakespeareTokens;

    [Test]
    public void ResumingGivesTheLossesOfAnUninterruptedRun()
    {
        WriteShards();
        var options = Options(steps: 6) with { CheckpointEvery = 3, SampleEvery = 2, SampleTokens = 8, OutputDirectory = Path.Combine(TempDir, "a") };
        var (uninterrupted, samples) = Train(options, restoreFrom: null);
        Assert.That(uninterrupted, Has.Count.EqualTo(6));

        // a second run restores the checkpoint written after step 3 and continues
        var checkpoint = new CheckpointFolder(options.OutputDirectory!).FindLatest();
        Assert.That(checkpoint, Is.Not.Null);
        Assert.That(Path.GetFileName(checkpoint!.ModelPath), Is.EqualTo("model_00000006.bin"), "the final checkpoint is the newest");
        Assert.That(checkpoint.Step, Is.EqualTo(6));
        string model3 = Path.Combine(options.OutputDirectory!, "model_00000003.bin");
        string state3 = Path.Combine(options.OutputDirectory!, "state_00000003.bin");
        var (resumed, resumedSamples) = Train(options with { OutputDirectory = Path.Combine(TempDir, "b") }, (model3, state3));
        Assert.That(resumed, Is.EqualTo(uninterrupted.Skip(3)), "bit-identical losses");
        Assert.That(resumedSamples.Select(s => (s.Step, s.Text)), Is.EqualTo(samples.Where(s => s.Step > 3).Select(s => (s.Step, s.Text))), "the sampler continues where it was");
        Assert.That(File.ReadAllLines(Path.Combine(options.OutputDirectory!, "main.log")),
            Has.Some.Match($@"^s:5 trl:{uninterrupted[5].ToString("F4", System.Globalization.CultureInfo.InvariantCulture)} lr:0\.\d{{6}} norm:\d+\.\d\d$"), "llm.c's train line");
    }

    [Test]
    public void ValidationLossFallsOnTinyShakespeare()
    {
        WriteShards();
        var options = Options(steps: 40) with { ValidationEvery = 40, ValidationBatches = 8 };
        var validation = new List<float>();
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L2H2C32"), backend, seed: 7);
        using var trainer = new Trainer(model, Loader("train"), Loader("val"), options);
        trainer.Validated += (_, r) => validation.Add(r.Loss);
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
            var o = Options(steps: 1) with { TotalBatchTokens = total };
            using var backend = new CpuBackend();
            using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 3);
            using var trainer = new Trainer(model, Loader("train", b), null, o);
            float loss = 0;
            trainer.StepCompleted += (_, r) => loss = r.Loss;
            trainer.Run();
            var p = new float[model.Layout.Count];
            model.GetParameters(p);
            return loss + p.Sum();
        }

        Assert.That(Run(2, 4 * 32), Is.EqualTo(Run(4, 4 * 32)).Within(1e-3f));
    }

    [Test]
    public async Task RunAsyncReportsProgressAndSummarizes()
    {
        WriteShards();
        var options = Options(steps: 5) with { ValidationEvery = 3, ValidationBatches = 2 };
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 5);
        using var trainer = new Trainer(model, Loader("train"), Loader("val"), options);
        var reports = new List<TrainStepEventArgs>();
        var validations = new List<ValidationEventArgs>();
        trainer.Validated += (_, e) => validations.Add(e);
        var summary = await trainer.RunAsync(new SynchronousProgress<TrainStepEventArgs>(reports.Add));

        Assert.That(reports.Select(r => r.Step), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(reports.All(r => r.MaxSteps == 5 && r.TokensPerSecond > 0 && r.LearningRate > 0), Is.True);
        Assert.That(reports.Select(r => r.ModelFlopUtilization), Is.All.Null, "no MFU without a known peak (CPUs)");
        Assert.That(validations.Select(v => v.Step), Is.EqualTo(new[] { 0, 3, 5 }));
        Assert.That(reports.Select(r => r.ValidationLoss), Is.EqualTo(new float?[] { validations[0].Loss, validations[0].Loss, validations[0].Loss, validations[1].Loss, validations[1].Loss }),
            "each report carries the latest validation loss");
        Assert.That(summary.Step, Is.EqualTo(5));
        Assert.That(summary.StepsRun, Is.EqualTo(5));
        Assert.That(summary.TokensProcessed, Is.EqualTo(5 * 4 * 32));
        Assert.That(summary.FinalLoss, Is.EqualTo(reports[^1].Loss));
        Assert.That(summary.FinalValidationLoss, Is.EqualTo(validations[^1].Loss));
        Assert.That(summary.Cancelled, Is.False);
        Assert.That(summary.Checkpoint, Is.Null, "no output folder");
    }

    [Test]
    public async Task CancellingWritesACheckpointThatResumesTheRun()
    {
        WriteShards();
        string dir = Path.Combine(TempDir, "out");
        var options = Options(steps: 6) with { OutputDirectory = dir, ValidationEvery = 2, SampleEvery = 2, SampleTokens = 4 };
        using var cancel = new CancellationTokenSource();
        TrainingSummary first;
        var validated = new List<int>();
        var checkpoints = new List<(object? Sender, Checkpoint Checkpoint)>();
        Trainer? raisedBy = null;
        using (var backend = new CpuBackend())
        using (var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 5))
        using (var trainer = new Trainer(model, Loader("train"), Loader("val"), options))
        {
            raisedBy = trainer;
            trainer.Validated += (_, v) => validated.Add(v.Step);
            trainer.Checkpointed += (sender, c) => checkpoints.Add((sender, c.Checkpoint));
            first = await trainer.RunAsync(new SynchronousProgress<TrainStepEventArgs>(r =>
            {
                if (r.Step == 2)
                {
                    cancel.Cancel();
                }
            }), cancel.Token);
        }

        Assert.That(first.Cancelled, Is.True);
        Assert.That(first.Step, Is.EqualTo(3), "the step in flight completes");
        Assert.That(validated, Is.EqualTo(new[] { 0, 2 }), "no evaluation on the way out");
        Assert.That(checkpoints.Select(c => (c.Sender, c.Checkpoint)), Is.EqualTo(new[] { ((object?)raisedBy, new Checkpoint(3, Path.Combine(dir, "model_00000003.bin"), Path.Combine(dir, "state_00000003.bin"))) }),
            "the cancel checkpoint is announced, sender first");
        Assert.That(first.Checkpoint, Is.EqualTo(Path.Combine(dir, "model_00000003.bin")));
        Assert.That(File.Exists(Path.Combine(dir, "state_00000003.bin")), Is.True);

        // a fresh trainer picks the checkpoint up and finishes the run
        using var backend2 = new CpuBackend();
        using var model2 = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend2, seed: 99);
        using var trainer2 = new Trainer(model2, Loader("train"), Loader("val"), options);
        Assert.That(trainer2.TryRestoreLatest(dir), Is.True);
        Assert.That(trainer2.Step, Is.EqualTo(3));
        var second = trainer2.Run();
        Assert.That((second.Step, second.StepsRun, second.Cancelled), Is.EqualTo((6, 3, false)));
        Assert.That(second.Checkpoint, Is.EqualTo(Path.Combine(dir, "model_00000006.bin")));

        // and without CheckpointOnCancel nothing is written
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        string other = Path.Combine(TempDir, "other");
        var o3 = options with { OutputDirectory = other, CheckpointOnCancel = false };
        using var backend3 = new CpuBackend();
        using var model3 = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend3, seed: 5);
        using var trainer3 = new Trainer(model3, Loader("train"), null, o3);
        Assert.That(trainer3.TryRestoreLatest(other), Is.False, "an empty folder has no checkpoint");
        var none = await trainer3.RunAsync(null, cancelled.Token);
        Assert.That((none.Step, none.Cancelled, none.Checkpoint), Is.EqualTo((0, true, (string?)null)));
        Assert.That(Directory.GetFiles(other, "*.bin"), Is.Empty);
    }

    private (List<float> Losses, List<SampleEventArgs> Samples) Train(TrainerOptions options, (string Model, string State)? restoreFrom)
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 5);
        using var trainer = new Trainer(model, Loader("train"), null, options);
        if (restoreFrom is { } r)
        {
            trainer.Restore(r.Model, TrainingState.Read(r.State, model.Layout.Count));
        }

        var losses = new List<float>();
        var samples = new List<SampleEventArgs>();
        trainer.StepCompleted += (_, s) => losses.Add(s.Loss);
        trainer.Sampled += (_, e) => samples.Add(e);
        trainer.Run();
        return (losses, samples);
    }

    private static TrainerOptions Options(int steps) => new()
    {
        MaxSteps = steps, ValidationEvery = 0, SampleEvery = 0,
        Schedule = new LearningRateSchedule(ScheduleKind.Cosine, 3e-3f, 5, steps, 0.1f),
        Optimizer = new AdamWOptions { Beta2 = 0.95f, WeightDecay = 0.1f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f },
    };

    /// <summary>A loader of micro-batches of B x 32 tokens.</summary>
    private DataLoader Loader(string split, int batchSize = 4) =>
        new(Path.Combine(TempDir, $"ts_{split}.bin"), batchSize, 32, Gpt2Config.Gpt2VocabularySize);

    private void WriteShards()
    {
        TokenShard.Write(Path.Combine(TempDir, "ts_val.bin"), Tokens.Val);
        TokenShard.Write(Path.Combine(TempDir, "ts_train.bin"), Tokens.Train);
    }
}
