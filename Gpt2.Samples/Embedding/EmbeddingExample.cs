using Gpt2.Backends.Cpu;
using Gpt2.Data;
using Gpt2.Model;
using Gpt2.Text;
using Gpt2.Training;

namespace Gpt2.Samples.Embedding;

/// <summary>
/// Training and sampling GPT-2 from an application, through the library's public API only (no CLI): the code the
/// README's "Use it as a library" section shows, and the program CI builds against the packed NuGet packages.
/// </summary>
internal static class EmbeddingExample
{
    /// <summary>Prepares TinyShakespeare, trains a small GPT-2 for a few steps, checkpoints it and samples from it.</summary>
    /// <param name="workDirectory">Folder for the shards, the log and the checkpoint.</param>
    /// <param name="textFile">A local copy of TinyShakespeare, or null to download it.</param>
    /// <param name="output">Where progress and the sample go.</param>
    /// <param name="cancellation">Stops training between steps (a checkpoint is still written).</param>
    /// <returns>The training summary; its validation loss is compared with the untrained model's by the caller.</returns>
    public static async Task<(float InitialValidationLoss, TrainingSummary Summary)> RunAsync(string workDirectory, string? textFile, TextWriter output,
        CancellationToken cancellation = default)
    {
        var (valShard, trainShard) = await TinyShakespeare.PrepareAsync(Path.Combine(workDirectory, "data"), textFile, cancellation: cancellation);

        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L2H2C64"), backend, seed: 42);
        var train = new DataLoader(trainShard, batchSize: 4, sequenceLength: 64, model.Config.VocabularySize);
        var validation = new DataLoader(valShard, batchSize: 4, sequenceLength: 64, model.Config.VocabularySize);
        var options = new TrainerOptions
        {
            MaxSteps = 40,
            Schedule = new LearningRateSchedule(ScheduleKind.Cosine, 3e-3f, WarmupSteps: 4, TotalSteps: 40, FinalFraction: 0.1f),
            ValidationEvery = 40, ValidationBatches = 8, SampleTokens = 0,
            OutputDirectory = Path.Combine(workDirectory, "out"),
            OverwriteCheckpoints = true, // each run of the example starts afresh, replacing the last one's checkpoints
        };
        using var trainer = new Trainer(model, train, validation, options);

        float initial = float.NaN;
        trainer.Validated += (_, r) => initial = r.Step == 0 ? r.Loss : initial; // the untrained model's loss, evaluated at step 0
        var progress = new Progress<TrainStepEventArgs>(r => output.WriteLine($"step {r.Step + 1}/{r.MaxSteps} loss {r.Loss:F3} ({r.TokensPerSecond:F0} tok/s)"));
        TrainingSummary summary = await trainer.RunAsync(progress, cancellation);
        output.WriteLine($"val loss {initial:F3} -> {summary.FinalValidationLoss:F3}; checkpoint {summary.Checkpoint}");

        await foreach (var token in model.GenerateAsync("ROMEO:", new GenerationOptions { MaxTokens = 24, TopK = 40 }, cancellation))
        {
            output.Write(token.Text);
        }

        output.WriteLine();
        return (initial, summary);
    }
}
