using System.Diagnostics.Metrics;
using System.Text.Json;
using Gpt2.Backends.Cpu;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Training;
using Microsoft.Extensions.Logging;

namespace Gpt2.Tests.Training;

/// <summary>What a run reports besides main.log: the meter, metrics.jsonl, an ILogger; and TrainerOptions' own checks.</summary>
[NonParallelizable] // the meter is process-wide
public sealed class ObservabilityTests : TempDirectoryTest
{
    private static readonly Gpt2Config Tiny = new(maxSequenceLength: 8, vocabularySize: 64, paddedVocabularySize: 64, layerCount: 1, headCount: 2, channelCount: 8);

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }

    private (List<TrainStepEventArgs> Reports, ListLogger Logger) Run(int steps, string output, Action<Trainer, Gpt2Model>? before = null)
    {
        var rng = new Random(3);
        string train = Path.Combine(TempDir, "train.bin"), val = Path.Combine(TempDir, "val.bin");
        TokenShard.Write(train, Enumerable.Range(0, 2000).Select(_ => (ushort)rng.Next(64)).ToArray());
        TokenShard.Write(val, Enumerable.Range(0, 300).Select(_ => (ushort)rng.Next(64)).ToArray());
        var logger = new ListLogger();
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Tiny, backend, seed: 2);
        var options = new TrainerOptions
        {
            MaxSteps = steps, ValidationEvery = 2, ValidationBatches = 2, SampleTokens = 0, CheckpointEvery = 2, OutputDirectory = output, Logger = logger,
        };
        using var trainer = new Trainer(model, new DataLoader(train, 2, 8, 64), new DataLoader(val, 2, 8, 64), options);
        before?.Invoke(trainer, model);
        var reports = new List<TrainStepEventArgs>();
        trainer.StepCompleted += (_, e) => reports.Add(e);
        trainer.Run();
        return (reports, logger);
    }

    [Test]
    public void TheMeterRecordsEveryStepAndEvaluation()
    {
        var losses = new List<double>();
        long steps = 0;
        double validations = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TrainingMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "gpt2.training.loss") { losses.Add(value); }
            if (instrument.Name == "gpt2.training.validation_loss") { validations++; }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "gpt2.training.steps") { steps += value; }
        });
        listener.Start();
        var (reports, _) = Run(3, Path.Combine(TempDir, "out"));
        Assert.That(losses, Is.EqualTo(reports.Select(r => (double)r.Loss)));
        Assert.That(steps, Is.EqualTo(3));
        Assert.That(validations, Is.EqualTo(3), "at steps 0, 2 and the end");
    }

    [Test]
    public void MetricsJsonlHoldsAnObjectPerStepAndEvaluationAndIsCutBackOnResume()
    {
        string output = Path.Combine(TempDir, "out");
        var (reports, logger) = Run(4, output);
        string path = Path.Combine(output, "metrics.jsonl");
        var entries = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(entries.Select(e => $"{e.GetProperty("type").GetString()}:{e.GetProperty("step").GetInt32()}"),
            Is.EqualTo(new[] { "val:0", "step:0", "step:1", "val:2", "step:2", "step:3", "val:4" }));
        var first = entries[1];
        Assert.That(first.GetProperty("loss").GetDouble(), Is.EqualTo(reports[0].Loss).Within(1e-6));
        Assert.That(first.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "type", "step", "loss", "lr", "norm", "ms", "tokens_per_s", "mfu", "skipped" }));
        Assert.That(logger.Entries, Has.Some.Matches<(LogLevel L, string M)>(e => e.L == LogLevel.Information && e.M.Contains("validation loss")));
        Assert.That(logger.Entries, Has.Some.Matches<(LogLevel L, string M)>(e => e.L == LogLevel.Information && e.M.Contains("checkpoint")));
        Assert.That(logger.Entries.Count(e => e.Level == LogLevel.Debug && e.Message.StartsWith("step ", StringComparison.Ordinal)), Is.EqualTo(4));

        // as if killed after step 3: resume from step 2; the file is cut back, then continued
        Run(4, output, (t, m) => t.Restore(new CheckpointFolder(output).At(2).ModelPath, TrainingState.Read(new CheckpointFolder(output).At(2).StatePath, m.Layout.Count)));
        Assert.That(File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).Select(e => $"{e.GetProperty("type").GetString()}:{e.GetProperty("step").GetInt32()}"),
            Is.EqualTo(new[] { "val:0", "step:0", "step:1", "val:2", "step:2", "step:3", "val:4" }));
    }

    [Test]
    public void OptionsValidateThemselvesAndTheScheduleFollowsMaxSteps()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new TrainerOptions { MaxSteps = -1 }.Validate())!.ParamName, Is.EqualTo("MaxSteps"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new TrainerOptions { ValidationBatches = 0 }.Validate())!.ParamName, Is.EqualTo("ValidationBatches"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new TrainerOptions
        {
            MaxSteps = 10, Schedule = new LearningRateSchedule(ScheduleKind.Cosine, 1e-3f, 0, 0, 2f),
        }.Validate())!.Message, Does.Contain("final fraction in [0, 1]"));
        var options = new TrainerOptions { MaxSteps = 200 };
        Assert.That(options.ResolvedSchedule.TotalSteps, Is.EqualTo(200), "the README's MaxSteps = 200 decays over 200 steps");
        Assert.That(options.ResolvedSchedule.At(199), Is.LessThan(options.ResolvedSchedule.At(0) * 0.2f), "and decays");
        Assert.That(new TrainerOptions { MaxSteps = 200, Schedule = new(ScheduleKind.Linear, 1e-3f, 0, 50, 0f) }.ResolvedSchedule.TotalSteps, Is.EqualTo(50), "unless told");
        Assert.That(new Gpt2.Text.GenerationOptions().StopAtEndOfText, Is.True, "generation ends with the document by default");
    }
}
