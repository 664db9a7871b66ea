using Gpt2.Backends.Cpu;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Training;

namespace Gpt2.Tests.Training;

/// <summary>
/// Training that never loses work and never lies, on a tiny model (V=64 with padding rows to Vp=80) and random
/// tokens: non-finite numbers, the outlier guard, one run per folder, orphans, the log after a resume, the settings
/// and model recorded with each checkpoint, retention, and data checked before the first step.
/// </summary>
public sealed class RunSafetyTests : TempDirectoryTest
{
    private static readonly Gpt2Config Tiny = new(maxSequenceLength: 8, vocabularySize: 64, paddedVocabularySize: 80, layerCount: 1, headCount: 2, channelCount: 8);

    private string Out => Path.Combine(TempDir, "out");

    private string Shard(string name, int tokens = 4000, int seed = 1, Action<ushort[]>? edit = null)
    {
        var rng = new Random(seed);
        var t = new ushort[tokens];
        for (int i = 0; i < t.Length; i++)
        {
            t[i] = (ushort)rng.Next(Tiny.VocabularySize);
        }

        edit?.Invoke(t);
        string path = Path.Combine(TempDir, name);
        TokenShard.Write(path, t);
        return path;
    }

    private static TrainerOptions Options(int steps, string? output) => new()
    {
        MaxSteps = steps, ValidationEvery = 0, SampleEvery = 0, SampleTokens = 0, OutputDirectory = output,
        Schedule = new LearningRateSchedule(ScheduleKind.Cosine, 1e-2f, 2, steps, 0.1f),
        Optimizer = new AdamWOptions { Beta2 = 0.95f, WeightDecay = 0.1f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f },
    };

    /// <summary>Runs a trainer; <paramref name="before"/> may restore or poison the model first. Returns the step losses.</summary>
    private List<float> Run(TrainerOptions options, Action<Trainer, Gpt2Model>? before = null, int batch = 2, string? train = null, List<TrainStepEventArgs>? reports = null)
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Tiny, backend, seed: 9);
        using var trainer = new Trainer(model, new DataLoader(train ?? Shard("train.bin"), batch, 8, Tiny.VocabularySize), null, options);
        before?.Invoke(trainer, model);
        var losses = new List<float>();
        trainer.StepCompleted += (_, r) =>
        {
            losses.Add(r.Loss);
            reports?.Add(r);
        };
        trainer.Run();
        return losses;
    }

    private static void Restore(Trainer trainer, Gpt2Model model, Checkpoint c) =>
        trainer.Restore(c.ModelPath, TrainingState.Read(c.StatePath, model.Layout.Count));

    private static void Poison(Gpt2Model model, long index, float value)
    {
        var p = new float[model.Layout.Count];
        model.GetParameters(p);
        p[index] = value;
        model.SetParameters(p);
    }

    private Dictionary<string, byte[]> Files() => Directory.GetFiles(Out).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [Test]
    public void ANonFiniteLossStopsAtItsStepWithoutTheUpdateOrACheckpoint()
    {
        Run(Options(2, Out) with { CheckpointEvery = 1 });
        var folder = new CheckpointFolder(Out);
        var before = Files();
        var e = Assert.Throws<TrainingDivergedException>(() => Run(Options(4, Out) with { CheckpointEvery = 1, AllowResumeChanges = true }, (t, m) =>
        {
            Restore(t, m, folder.FindLatest()!);
            Poison(m, Tiny.ChannelCount * 5 + 3, float.NaN); // wte row of token 5: every batch uses it
        }));
        Assert.That(e!.Step, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("step 2: loss NaN").And.Contain("the update was not applied").And.Contain("model_00000002.bin"));
        Assert.That(e.Tensor, Does.StartWith("gradient of "));
        Assert.That(e.LastCheckpoint, Is.EqualTo(folder.At(2).ModelPath));
        Assert.That(Files().Where(f => f.Key is not ("main.log" or "metrics.jsonl")), Is.EquivalentTo(before.Where(f => f.Key is not ("main.log" or "metrics.jsonl"))), "no checkpoint touched");
    }

    [Test]
    public void ParametersThatWentBadAreNeverCheckpointed()
    {
        // a parameter turns infinite after step 1's update: the checkpoint of step 2 refuses to write it
        Run(Options(2, Out) with { CheckpointEvery = 1 });
        var before = Files();
        var e = Assert.Throws<TrainingDivergedException>(() => Run(Options(4, Out) with { CheckpointEvery = 1, AllowResumeChanges = true }, (t, m) =>
        {
            Restore(t, m, new CheckpointFolder(Out).At(1));
            t.StepCompleted += (_, r) => Poison(m, (long)Tiny.VocabularySize * Tiny.ChannelCount + 1, float.PositiveInfinity);
        }));
        Assert.That(e!.Step, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("parameters are not finite").And.Contain("wte holds +inf at element 513").And.Contain("model_00000001.bin"));
        Assert.That(Files().Where(f => f.Key is not ("main.log" or "metrics.jsonl")), Is.EquivalentTo(before.Where(f => f.Key is not ("main.log" or "metrics.jsonl"))), "the good step-2 checkpoint is intact");
        Assert.That(Directory.GetFiles(Out, ".*.tmp"), Is.Empty);
    }

    [Test]
    public void AModelFileWithNonFiniteParametersIsRefusedNamingTheTensor()
    {
        var layout = new ParameterLayout(Tiny);
        var p = new float[layout.Count];
        p[layout.QkvWeight.Offset + layout.QkvWeight.LayerLength - 2] = float.NaN;
        string path = Path.Combine(TempDir, "nan.bin");
        ModelFile.Write(path, Tiny, ModelFileFormat.Float32, p);
        using var backend = new CpuBackend();
        var e = Assert.Throws<FileFormatException>(() => Gpt2Model.Load(path, backend));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("qkvw (layer 0) holds NaN at element 190"));
    }

    [Test]
    public void TheOutlierDetectorIsLlmcsAndItsWindowSurvivesAResume()
    {
        var d = new OutlierDetector();
        for (int i = 0; i < OutlierDetector.Window; i++)
        {
            Assert.That(double.IsNaN(d.Update(i % 2)), "NaN while the window fills");
        }

        // window: 63 x 0, 64 x 1 after dropping the first 0 and adding a 1 ... z of the new 1 against mean 65/128
        double mean = 65.0 / 128, std = Math.Sqrt(65.0 / 128 - mean * mean);
        Assert.That(d.Update(1), Is.EqualTo((1 - mean) / std).Within(1e-12));
        var copy = OutlierDetector.Restore(d.Save());
        Assert.That(copy.Update(5), Is.EqualTo(d.Update(5)));
    }

    [Test]
    public void OutlierStepsAreSkippedAndAResumeSkipsTheSameOnes()
    {
        var first = new List<TrainStepEventArgs>();
        // steps 0-249 see tokens 0-31 only (the loss settles, then plateaus for a whole window), then tokens 32-63
        string data = Shard("switch.bin", tokens: 6000, edit: t =>
        {
            for (int i = 0; i < t.Length; i++)
            {
                t[i] = (ushort)(t[i] % 32 + (i >= 250 * 16 ? 32 : 0));
            }
        });
        var options = Options(260, Out) with
        {
            SkipLossZScore = 3f, CheckpointEvery = 255, Schedule = new LearningRateSchedule(ScheduleKind.Constant, 1e-2f, 0, 260, 1f),
        };
        var losses = Run(options, reports: first, train: data);
        var skipped = first.Where(r => r.SkippedUpdate is not null).ToList();
        Assert.That(skipped.Select(r => r.Step), Does.Contain(249), "the jump is skipped (step 249's last target is the first new token)");
        Assert.That(skipped.Min(r => r.Step), Is.GreaterThanOrEqualTo(OutlierDetector.Window - 1), "no z-score before the window is full");
        Assert.That(skipped[0].SkippedUpdate, Does.StartWith("loss z-score").And.EndWith("> 3"));

        var second = new List<TrainStepEventArgs>();
        var resumed = Run(options, (t, m) => Restore(t, m, new CheckpointFolder(Out).At(255)), reports: second, train: data);
        Assert.That(resumed, Is.EqualTo(losses.Skip(255)), "bit-identical losses");
        Assert.That(second.Select(r => (r.Step, r.SkippedUpdate)), Is.EqualTo(first.Where(r => r.Step >= 255).Select(r => (r.Step, r.SkippedUpdate))), "the same steps skipped");
    }

    [Test]
    public void ASecondRunIntoTheSameFolderFailsNamingTheFirst()
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.CreateRandom(Tiny, backend);
        var loader = new DataLoader(Shard("train.bin"), 2, 8, Tiny.VocabularySize);
        using (new Trainer(model, loader, null, Options(1, Out)))
        {
            var e = Assert.Throws<IOException>(() => new Trainer(model, loader, null, Options(1, Out)));
            Assert.That(e!.Message, Does.Contain("in use by another training run").And.Contain($"pid {Environment.ProcessId}"));
        }

        using var after = new Trainer(model, loader, null, Options(1, Out));
        Assert.That(after.Step, Is.Zero, "the lock goes with the first trainer");
    }

    [Test]
    public void AFreshRunRefusesAFolderWithAnEarlierRunsCheckpointsUnlessTold()
    {
        Run(Options(3, Out) with { CheckpointEvery = 1 });
        var e = Assert.Throws<CheckpointMismatchException>(() => Run(Options(2, Out)));
        Assert.That(e!.Message, Does.Contain("earlier run (up to step 3)").And.Contain("--overwrite"));
        Assert.That(new CheckpointFolder(Out).FindAll().Select(c => c.Step), Is.EqualTo(new[] { 1, 2, 3 }), "nothing deleted");

        Run(Options(2, Out) with { OverwriteCheckpoints = true });
        Assert.That(new CheckpointFolder(Out).FindAll().Select(c => c.Step), Is.EqualTo(new[] { 2 }), "the old run's later checkpoints are gone");
        Assert.That(File.ReadAllLines(Path.Combine(Out, "main.log")), Has.Length.EqualTo(2));
    }

    [Test]
    public void OrphansOfInterruptedWritesAreRemovedAtTheNextStart()
    {
        Run(Options(2, Out) with { CheckpointEvery = 1 });
        string temp = Path.Combine(Out, ".model_00000003.bin.0123456789abcdef.tmp"), lone = new CheckpointFolder(Out).At(7).ModelPath;
        File.WriteAllBytes(temp, new byte[100]);
        File.Copy(new CheckpointFolder(Out).At(2).ModelPath, lone);
        Run(Options(4, Out) with { CheckpointEvery = 1, AllowResumeChanges = true }, (t, m) => Assert.That(t.TryRestoreLatest(Out)));
        Assert.That(File.Exists(temp) || File.Exists(lone), Is.False);
    }

    [Test]
    public void AResumedLogEndsAsTheLogOfAnUninterruptedRun()
    {
        string a = Path.Combine(TempDir, "a");
        var options = Options(6, a) with { CheckpointEvery = 2, ValidationEvery = 3 };
        string val = Shard("val.bin", 600, seed: 2);
        List<float> RunWithVal(TrainerOptions o, Action<Trainer, Gpt2Model>? before = null)
        {
            using var backend = new CpuBackend();
            using var model = Gpt2Model.CreateRandom(Tiny, backend, seed: 9);
            using var trainer = new Trainer(model, new DataLoader(Path.Combine(TempDir, "train.bin"), 2, 8, 64), new DataLoader(val, 2, 8, 64), o);
            before?.Invoke(trainer, model);
            trainer.Run();
            return [];
        }

        Shard("train.bin");
        RunWithVal(options);
        string[] uninterrupted = File.ReadAllLines(Path.Combine(a, "main.log"));
        // as if killed after step 5 had been logged: resume from the checkpoint of step 2 in the same folder
        File.AppendAllLines(Path.Combine(a, "main.log"), ["s:6 tel:9.9999"]);
        RunWithVal(options, (t, m) => Restore(t, m, new CheckpointFolder(a).At(2)));
        Assert.That(File.ReadAllLines(Path.Combine(a, "main.log")), Is.EqualTo(uninterrupted));
    }

    [Test]
    public void ResumingWithOtherSettingsIsRefusedNamingBothValues()
    {
        Run(Options(2, Out) with { CheckpointEvery = 2 });
        var latest = new CheckpointFolder(Out).FindLatest()!;
        var e = Assert.Throws<CheckpointMismatchException>(() => Run(Options(2, Out), (t, m) => Restore(t, m, latest), batch: 3));
        Assert.That(e!.Message, Does.Contain("batch: checkpoint B=2 T=8, 16 tokens per step, 1 process(es), now B=3 T=8, 24 tokens per step"));
        e = Assert.Throws<CheckpointMismatchException>(() => Run(Options(2, Out) with { Seed = 5 }, (t, m) => Restore(t, m, latest)));
        Assert.That(e!.Message, Does.Contain("seed: checkpoint 1337, now 5"));
        e = Assert.Throws<CheckpointMismatchException>(() => Run(Options(2, Out), (t, m) => Restore(t, m, latest), train: Shard("other.bin", 3000)));
        Assert.That(e!.Message, Does.Contain("training data: checkpoint train.bin (4000 tokens), now other.bin (3000 tokens)"));
        Assert.That(Run(Options(3, Out) with { AllowResumeChanges = true }, (t, m) => Restore(t, m, latest), batch: 3), Has.Count.EqualTo(1), "allowed when deliberate");
    }

    [Test]
    public void AStatePairedWithAnotherModelFileIsRefused()
    {
        Run(Options(4, Out) with { CheckpointEvery = 2 });
        var folder = new CheckpointFolder(Out);
        File.Copy(folder.At(4).ModelPath, folder.At(2).ModelPath, overwrite: true);
        var e = Assert.Throws<CheckpointMismatchException>(() => Run(Options(4, Out), (t, m) => Restore(t, m, folder.At(2))));
        Assert.That(e!.Message, Does.Contain("model_00000002.bin is not the model file its training state was written with"));
    }

    [Test]
    public void ResumingPastTheShardsThatStillMatchIsRefused()
    {
        string first = Shard("t_1.bin", 200), second = Shard("t_2.bin", 200, seed: 3);
        _ = first;
        var options = Options(14, Out) with { CheckpointEvery = 14 };
        Run(options, train: Path.Combine(TempDir, "t_*.bin"));
        var state = TrainingState.Read(new CheckpointFolder(Out).At(14).StatePath, new ParameterLayout(Tiny).Count);
        Assert.That(state.TrainPosition.Shard, Is.EqualTo(1), "the checkpoint reads the second shard next");
        File.Delete(second);
        var e = Assert.Throws<CheckpointMismatchException>(() => Run(options with { AllowResumeChanges = true },
            (t, m) => Restore(t, m, new CheckpointFolder(Out).At(14)), train: Path.Combine(TempDir, "t_*.bin")));
        Assert.That(e!.Message, Does.Contain("reads training shard 2 next, but only 1 shard(s) match now"));
    }

    [Test]
    public void RetentionKeepsTheNewestAndTheMajorCheckpoints()
    {
        Run(Options(7, Out) with { CheckpointEvery = 1, KeepCheckpoints = 2, MajorCheckpointEvery = 4 });
        Assert.That(new CheckpointFolder(Out).FindAll().Select(c => c.Step), Is.EqualTo(new[] { 4, 6, 7 }));
        Assert.That(Directory.GetFiles(Out, "*.bin"), Has.Length.EqualTo(6), "each kept checkpoint has both files, the others neither");
    }

    [Test]
    public void ATokenOutsideTheVocabularyIsFoundBeforeTheFirstStep()
    {
        string bad = Shard("bad.bin", 3000, edit: t => t[2_999] = 64);
        var loader = new DataLoader(bad, 2, 8, Tiny.VocabularySize);
        var e = Assert.Throws<FileFormatException>(loader.ValidateTokens);
        Assert.That(e!.Message, Does.Contain(bad).And.Contain("token 2999 is 64, outside the model's vocabulary of 64"));
        Assert.DoesNotThrow(new DataLoader(Shard("good.bin"), 2, 8, Tiny.VocabularySize).ValidateTokens);
    }
}
