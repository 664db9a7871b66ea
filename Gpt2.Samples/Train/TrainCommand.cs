using System.CommandLine;
using System.Globalization;
using Gpt2.Data;
using Gpt2.Distributed;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Samples.Cli;
using Gpt2.Training;
using Spectre.Console;

namespace Gpt2.Samples.Train;

/// <summary><c>gpt2 train</c>: llm.c's trainer flags, same letters and meaning, plus readable long names.</summary>
internal static class TrainCommand
{
    /// <summary>The default model: small enough that a 2-core CPU visibly learns TinyShakespeare in minutes.</summary>
    public const string DefaultModel = "L4H4C128";

    private static readonly string DefaultTrain = Path.Combine(Prepare.PrepareCommand.DefaultDirectory, "tiny_shakespeare_train.bin");
    private static readonly string DefaultVal = Path.Combine(Prepare.PrepareCommand.DefaultDirectory, "tiny_shakespeare_val.bin");

    public static Command Create(TextWriter output, TextWriter error)
    {
        var train = new Option<string>("--train", "-i") { Description = "Training shards (glob in the file name); TinyShakespeare is prepared when missing.", DefaultValueFactory = _ => DefaultTrain };
        var val = new Option<string>("--val", "-j") { Description = "Validation shards.", DefaultValueFactory = _ => DefaultVal };
        var model = new Option<string>("--model", "-e") { Description = "Model file to start from, pretrained GPT-2 (gpt2, gpt2-medium, gpt2-large, gpt2-xl: downloaded once into data/models), or descriptor (d12, d24, d36, d48, gpt3:cN, L4H4C128).", DefaultValueFactory = _ => DefaultModel };
        var outDir = new Option<string?>("--output", "-o") { Description = "Folder for main.log and checkpoints." };
        var batch = new Option<int>("--batch", "-b") { Description = "Micro-batch size B.", DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq", "-t") { Description = "Sequence length T.", DefaultValueFactory = _ => 64 };
        var total = new Option<int>("--total-batch", "-d") { Description = "Tokens per step (a multiple of B·T; 0 = B·T).", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--max-steps", "-x") { Description = "Optimizer steps.", DefaultValueFactory = _ => 600 };
        var schedule = new Option<string>("--schedule", "-k") { Description = "cosine, linear, constant or wsd.", DefaultValueFactory = _ => "cosine" };
        schedule.AcceptOnlyFromAmong("cosine", "linear", "constant", "wsd");
        var lr = new Option<float>("--lr", "-l") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3f };
        var warmup = new Option<int>("--warmup", "-u") { Description = "Warmup steps.", DefaultValueFactory = _ => 30 };
        var final = new Option<float>("--final-lr-fraction", "-q") { Description = "Final learning rate as a fraction of the peak.", DefaultValueFactory = _ => 0.1f };
        var decay = new Option<float>("--weight-decay", "-c") { Description = "Weight decay on the weight matrices.", DefaultValueFactory = _ => 0.1f };
        var valEvery = new Option<int>("--val-every", "-v") { Description = "Validation loss every N steps (0: only at the end).", DefaultValueFactory = _ => 50 };
        var valBatches = new Option<int>("--val-batches", "-m") { Description = "Validation batches per evaluation.", DefaultValueFactory = _ => 20 };
        var sampleEvery = new Option<int>("--sample-every", "-s") { Description = "Sample every N steps (0: only at the end).", DefaultValueFactory = _ => 200 };
        var sampleTokens = new Option<int>("--sample-tokens", "-g") { Description = "Tokens per sample.", DefaultValueFactory = _ => 96 };
        var checkpointEvery = new Option<int>("--checkpoint-every", "-n") { Description = "Checkpoint every N steps into -o (0: only at the end).", DefaultValueFactory = _ => 0 };
        var resume = new Option<int>("--resume", "-y") { Description = "1: resume from the newest checkpoint in -o.", DefaultValueFactory = _ => 0 };
        var overfit = new Option<int>("--overfit-single-batch", "-a") { Description = "1: train on one batch over and over.", DefaultValueFactory = _ => 0 };
        var masterWeights = new Option<int>("--master-weights", "-w") { Description = "With --precision bf16: 1 keeps fp32 master weights (llm.c's default), 0 updates the bf16 parameters directly.", DefaultValueFactory = _ => 1 };
        var backend = new Option<string>("--backend") { Description = "Compute backend.", DefaultValueFactory = _ => "cpu" };
        backend.AcceptOnlyFromAmong(Cli.Backends.Names);
        var matmul = new Option<string>("--matmul") { Description = Cli.Backends.MatmulDescription, DefaultValueFactory = _ => "auto" };
        matmul.AcceptOnlyFromAmong(Cli.Backends.MatmulNames);
        var attention = Cli.Backends.AttentionOption();
        var precision = Cli.Backends.PrecisionOption();
        var seed = new Option<uint>("--seed") { Description = "Seed of the initialisation (descriptors) and of the sampler.", DefaultValueFactory = _ => 42u };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)." };
        var zero = new Option<int>("--zero", "-z") { Description = "Under mpirun: 0 all-reduces gradients; 1 shards the optimizer state (ZeRO stage 1).", DefaultValueFactory = _ => 0 };
        var collectives = new Option<string>("--collectives") { Description = Collectives.Description, DefaultValueFactory = _ => "auto" };
        var skipLoss = new Option<float>("--skip-loss-z", "-sl") { Description = "Skip an update whose loss is this many standard deviations above the mean of the last 128 steps (0: off).", DefaultValueFactory = _ => 0f };
        var skipNorm = new Option<float>("--skip-norm-z", "-sg") { Description = "Skip an update whose gradient norm is this many standard deviations above the mean of the last 128 steps (0: off).", DefaultValueFactory = _ => 0f };
        var keep = new Option<int>("--keep-checkpoints", "-nk") { Description = "Keep only the newest N checkpoints in -o (0: all).", DefaultValueFactory = _ => 0 };
        var major = new Option<int>("--major-checkpoint-every", "-nm") { Description = "Checkpoints at multiples of M steps are never deleted by -nk (0: none).", DefaultValueFactory = _ => 0 };
        var overwrite = new Option<bool>("--overwrite") { Description = "Start a fresh run in an -o folder that holds an earlier run's checkpoints, deleting them." };
        var allowChanges = new Option<bool>("--allow-resume-changes") { Description = "Resume (-y 1) even though B, T, the total batch, the data, the schedule, the seed or the model differ from the checkpoint's." };
        var hellaswag = new Option<int>("--hellaswag", "-h") { Description = "1: HellaSwag acc_norm at every validation step (--hellaswag-file), logged as s:STEP eval:ACC.", DefaultValueFactory = _ => 0 };
        var hellaswagFile = new Option<string>("--hellaswag-file") { Description = "HellaSwag eval file (gpt2 prepare hellaswag) or jsonl for -h 1.", DefaultValueFactory = _ => Eval.EvalCommand.DefaultInput };
        var mpiTimeout = new Option<int>("--mpi-timeout") { Description = "Under mpirun: seconds a collective may wait for the other processes before the job is aborted.", DefaultValueFactory = _ => 600 };
        var command = new Command("train", "Train GPT-2 on token shards, llm.c style. " + ExitCodes.Description)
        {
            train, val, model, outDir, batch, seq, total, steps, schedule, lr, warmup, final, decay, valEvery, valBatches,
            sampleEvery, sampleTokens, checkpointEvery, resume, overfit, masterWeights, backend, matmul, attention, precision, seed, threads, zero, collectives, mpiTimeout,
            skipLoss, skipNorm, keep, major, overwrite, allowChanges, hellaswag, hellaswagFile,
        };

        command.SetAction(parse => CommandGuard.Run(error, "train", () =>
        {
            int b = Flags.Positive(parse.GetValue(batch), "--batch"), t = Flags.Positive(parse.GetValue(seq), "--seq");
            int x = Flags.Positive(parse.GetValue(steps), "--max-steps");
            int d = Flags.NonNegative(parse.GetValue(total), "--total-batch");
            if ((long)b * t > int.MaxValue / 2)
            {
                throw new UsageException($"--batch, --seq: B·T = {(long)b * t} tokens per micro-batch is more than this trainer addresses ({int.MaxValue / 2}).");
            }

            // the default warmup shrinks to fit a short run; a warmup asked for that the run cannot hold is refused
            int u = Flags.NonNegative(parse.GetValue(warmup), "--warmup");
            if (parse.GetResult(warmup) is null or { Implicit: true })
            {
                u = Math.Min(u, x);
            }
            else if (u > x)
            {
                throw new UsageException($"--warmup: {u} warmup steps is more than the {x} steps of the run (--max-steps).");
            }

            float sl = parse.GetValue(skipLoss), sg = parse.GetValue(skipNorm);
            if (!(sl >= 0) || float.IsInfinity(sl))
            {
                throw new UsageException($"--skip-loss-z: must be 0 (off) or a positive z-score, got {sl}.");
            }

            if (!(sg >= 0) || float.IsInfinity(sg))
            {
                throw new UsageException($"--skip-norm-z: must be 0 (off) or a positive z-score, got {sg}.");
            }
            if (d % (b * t) != 0)
            {
                throw new UsageException($"--total-batch: {d} is not a multiple of B·T = {b * t}.");
            }

            float peak = parse.GetValue(lr);
            if (!(peak > 0 && peak < 1))
            {
                throw new UsageException($"--lr: must be in (0, 1), got {peak}.");
            }

            float q = parse.GetValue(final);
            if (!(q >= 0 && q <= 1))
            {
                throw new UsageException($"--final-lr-fraction: must be in [0, 1], got {q}.");
            }

            float wd = parse.GetValue(decay);
            if (!(wd >= 0 && wd < 1))
            {
                throw new UsageException($"--weight-decay: must be in [0, 1), got {wd}.");
            }

            int? th = Flags.Threads(parse.GetValue(threads));
            int z = Flags.ZeroOrOne(parse.GetValue(zero), "--zero");
            int timeout = Flags.Positive(parse.GetValue(mpiTimeout), "--mpi-timeout");
            string coll = Collectives.Check(parse.GetValue(collectives));

            int y = Flags.ZeroOrOne(parse.GetValue(resume), "--resume"), a = Flags.ZeroOrOne(parse.GetValue(overfit), "--overfit-single-batch");
            string? o = parse.GetValue(outDir);
            if (o is { Length: 0 })
            {
                throw new UsageException("--output: empty path; give the folder for main.log and checkpoints.");
            }

            if (o is not null && File.Exists(o))
            {
                throw new UsageException($"--output: '{o}' is a file; give the folder for main.log and checkpoints.");
            }

            if (y == 1 && o is null)
            {
                throw new UsageException("--resume: needs --output (-o), the folder holding the checkpoints.");
            }

            IReadOnlyList<Gpt2.Evaluation.HellaSwagExample>? swag = null;
            if (Flags.ZeroOrOne(parse.GetValue(hellaswag), "--hellaswag") == 1)
            {
                string file = parse.GetValue(hellaswagFile)!;
                swag = File.Exists(file)
                    ? Gpt2.Evaluation.HellaSwagFile.Load(file)
                    : throw new UsageException($"--hellaswag: {file} not found; write it with: gpt2 prepare hellaswag (or give --hellaswag-file).");
            }

            var options = new TrainerOptions
            {
                TotalBatchTokens = d, MaxSteps = x,
                Schedule = new LearningRateSchedule(ParseSchedule(parse.GetValue(schedule)!), peak, u, x, q),
                Optimizer = new AdamWOptions
                {
                    Beta1 = 0.9f, Beta2 = 0.95f, Epsilon = 1e-8f, WeightDecay = wd, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f,
                    MasterWeights = Flags.ZeroOrOne(parse.GetValue(masterWeights), "--master-weights") == 1,
                },
                ValidationEvery = Flags.NonNegative(parse.GetValue(valEvery), "--val-every"),
                ValidationBatches = Flags.Positive(parse.GetValue(valBatches), "--val-batches"),
                SampleEvery = Flags.NonNegative(parse.GetValue(sampleEvery), "--sample-every"),
                SampleTokens = Flags.NonNegative(parse.GetValue(sampleTokens), "--sample-tokens"),
                CheckpointEvery = Flags.NonNegative(parse.GetValue(checkpointEvery), "--checkpoint-every"),
                OutputDirectory = o, OverfitSingleBatch = a == 1, Seed = parse.GetValue(seed), ZeroStage = z,
                SkipLossZScore = sl, SkipGradientNormZScore = sg,
                KeepCheckpoints = Flags.NonNegative(parse.GetValue(keep), "--keep-checkpoints"),
                MajorCheckpointEvery = Flags.NonNegative(parse.GetValue(major), "--major-checkpoint-every"),
                OverwriteCheckpoints = parse.GetValue(overwrite), AllowResumeChanges = parse.GetValue(allowChanges), HellaSwag = swag,
            };
            return Run(output, options, parse.GetValue(model)!, parse.GetValue(train)!, parse.GetValue(val)!, y == 1,
                new RunSettings(b, t, parse.GetValue(backend)!, parse.GetValue(matmul)!, parse.GetValue(attention)!, parse.GetValue(precision)!, th, parse.GetValue(seed), TimeSpan.FromSeconds(timeout), coll));
        }));
        return command;
    }

    /// <summary>The micro-batch shape and the flags that pick where and how the run computes.</summary>
    private sealed record RunSettings(int BatchSize, int SequenceLength, string Backend, string Matmul, string Attention, string Precision, int? Threads, uint Seed, TimeSpan MpiTimeout, string Collectives);

    private static int Run(TextWriter output, TrainerOptions options, string modelArg, string trainPattern, string valPattern, bool resume, RunSettings settings)
    {
        // every input is read and checked before the model is built, so bad input costs nothing and writes nothing
        var source = ModelSource.Resolve(modelArg, settings.SequenceLength, output);
        using var comm = MpiJob.Join(settings.MpiTimeout);
        if (comm.Size == 1)
        {
            return Train(output, options, source, trainPattern, valPattern, resume, settings, comm);
        }

        output.WriteLine($"process {comm.Rank}/{comm.Size} pid {Environment.ProcessId} on {Environment.MachineName}");
        try
        {
            return Train(comm.Rank == 0 ? output : TextWriter.Null, options, source, trainPattern, valPattern, resume, settings, comm);
        }
        catch (Exception e)
        {
            // the other processes may be waiting in a collective: end the whole job rather than leave them hanging
            ((MpiCommunicator)comm).Abort(e is UsageException or IOException or NotSupportedException ? e.Message : e.ToString(), ExitCodes.BadInput);
            throw;
        }
    }

    private static int Train(TextWriter output, TrainerOptions options, ModelSource source, string trainPattern, string valPattern, bool resume,
        RunSettings settings, ICommunicator comm)
    {
        var config = source.Config;
        if (trainPattern == DefaultTrain && valPattern == DefaultVal && !(File.Exists(DefaultTrain) && File.Exists(DefaultVal)))
        {
            if (comm.Rank == 0)
            {
                output.WriteLine("TinyShakespeare shards not found; preparing them first");
                Prepare.PrepareCommand.Run(output, inputPath: null, Prepare.PrepareCommand.DefaultDirectory);
            }

            comm.Barrier();
        }

        if (options.HellaSwag is { } swag)
        {
            try
            {
                Gpt2.Evaluation.HellaSwagEvaluator.Check(config, swag);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--hellaswag: {e.Message}");
            }
        }

        var trainLoader = OpenLoader(trainPattern, "--train", settings, config, comm);
        var valLoader = OpenLoader(valPattern, "--val", settings, config, comm);
        var checkpoint = resume ? new CheckpointFolder(options.OutputDirectory!).FindLatest() : null;
        TrainingState? state = null;
        if (checkpoint is { } cp)
        {
            state = TrainingState.Read(cp.StatePath, new ParameterLayout(config).Count);
        }

        using var be = Cli.Backends.Create(settings.Backend, settings.Threads, settings.Matmul, MpiJob.LocalRank);
        using var device = Collectives.Create(settings.Collectives, be, comm);
        using var gpt = source.Create(be, settings.Seed, Cli.Backends.Precision(be, settings.Precision));
        Cli.Backends.SetAttention(gpt, settings.Attention);
        using var trainer = new Trainer(gpt, trainLoader, valLoader, options, comm, device);
        if (checkpoint is { } c && state is not null)
        {
            trainer.Restore(c.ModelPath, state);
            output.WriteLine($"resumed from {c.ModelPath} at step {state.Step}");
        }
        else if (resume)
        {
            output.WriteLine($"no checkpoint in {options.OutputDirectory}; starting from scratch");
        }

        if (options.OutputDirectory is null && comm.Rank == 0)
        {
            output.WriteLine("warning: no --output (-o): the trained model will not be saved, and the run cannot be resumed");
        }

        output.WriteLine($"model {source.Argument}: L={config.LayerCount} NH={config.HeadCount} C={config.ChannelCount} V={config.VocabularySize}, " +
            $"{gpt.Layout.Count:N0} parameters; {Cli.Backends.Describe(be)}");
        output.WriteLine($"train {trainLoader.TokenCount:N0} tokens in {trainLoader.Shards.Count} shard(s), val {valLoader.TokenCount:N0}; " +
            $"B={settings.BatchSize} T={settings.SequenceLength}, {trainer.AccumulationSteps} micro-batch(es) per step, {options.MaxSteps} steps" +
            (comm.Size > 1 || device is not null ? $", {(comm.Size == 1 ? "1 process" : $"{comm.Size} processes")}{(options.ZeroStage == 1 ? ", ZeRO stage 1" : "")}, collectives {device?.Name ?? "host"}" : ""));
        var plot = new LossPlot();
        trainer.StepCompleted += (_, r) => plot.AddTrain(r.Step, r.Loss);
        trainer.Validated += (_, r) => plot.AddValidation(r.Step, r.Loss);
        // on a terminal the step line is a live progress bar with the other lines above it; elsewhere every step is a line
        bool live = comm.Size == 1 && Terminal.IsInteractive(output);
        Action<string> say = live ? AnsiConsole.WriteLine : output.WriteLine;
        ProgressTask? bar = null;
        var eta = new StepTimeAverage();
        var results = new RunSummary();
        results.Attach(trainer);
        trainer.StepCompleted += (_, r) =>
        {
            eta.Add(r.Milliseconds);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"step {r.Step + 1,5}/{options.MaxSteps}: loss {r.Loss:F4} | lr {r.LearningRate:E2} | norm {r.GradientNorm,7:F3} | {r.Milliseconds,7:F1} ms | {r.TokensPerSecond,7:F0} tok/s") +
                (comm.Size > 1 || device is not null ? string.Create(CultureInfo.InvariantCulture, $" | comm {r.CommunicationMilliseconds,6:F1} ms") : "") +
                (r.ModelFlopUtilization is double mfu ? string.Create(CultureInfo.InvariantCulture, $" | MFU {100 * mfu:F1}%") : "") +
                $" | ETA {eta.Remaining(options.MaxSteps - r.Step - 1)}";
            if (bar is not null)
            {
                bar.Value = r.Step + 1;
                bar.Description = Markup.Escape(line);
            }
            else
            {
                output.WriteLine(line);
            }

            if (r.SkippedUpdate is { } why)
            {
                say($"step {r.Step + 1}: update skipped, {why}");
            }
        };
        trainer.Validated += (_, r) => say(string.Create(CultureInfo.InvariantCulture, $"val loss {r.Loss:F4} at step {r.Step}"));
        trainer.Sampled += (_, r) => say($"sample at step {r.Step}:\n---\n{r.Text}\n---");
        trainer.HellaSwagEvaluated += (_, r) => say(string.Create(CultureInfo.InvariantCulture, $"HellaSwag acc_norm {r.NormalizedAccuracy:F4} ({r.Examples} examples) at step {r.Step}"));
        trainer.Checkpointed += (_, c) => say($"checkpoint {c.ModelPath}");
        // Ctrl+C and SIGTERM (kill, docker stop, systemd, Slurm) finish the step, checkpoint and exit; a second Ctrl+C exits at once
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = !cancel.IsCancellationRequested; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            cancel.Cancel();
        });
        TrainingSummary summary;
        try
        {
            summary = !live ? trainer.Run(cancel.Token) : AnsiConsole.Progress()
                .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left })
                .Start(context =>
                {
                    bar = context.AddTask("training", maxValue: options.MaxSteps);
                    bar.Value = trainer.Step;
                    return trainer.Run(cancel.Token);
                });
        }
        catch (TrainingDivergedException e)
        {
            output.WriteLine(e.Message);
            return ExitCodes.Diverged;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        if (options.OutputDirectory is not null && !plot.IsEmpty && comm.Rank == 0)
        {
            string svg = Path.Combine(options.OutputDirectory, "loss.svg");
            plot.Save(svg);
            output.WriteLine($"loss curve {svg}");
        }

        if (comm.Rank == 0)
        {
            if (live)
            {
                AnsiConsole.Write(results.Table(summary));
            }
            else
            {
                output.WriteLine(results.Line(summary));
            }
        }

        if (summary.Cancelled)
        {
            output.WriteLine(summary.Checkpoint is { } path
                ? $"interrupted at step {summary.Step}; checkpoint {path}; resume with -y 1 -o {options.OutputDirectory}"
                : $"interrupted at step {summary.Step}; nothing saved (no -o)");
        }

        // mpirun ends the job when a rank exits non-zero: no rank leaves before rank 0 has written everything
        comm.Barrier();
        return summary.Cancelled ? ExitCodes.Interrupted : ExitCodes.Success;
    }

    /// <summary>A loader over a pattern, every shard's header, size and tokens checked before anything is written.</summary>
    private static DataLoader OpenLoader(string pattern, string flag, RunSettings settings, Gpt2Config config, ICommunicator comm)
    {
        DataLoader loader;
        try
        {
            loader = new DataLoader(pattern, settings.BatchSize, settings.SequenceLength, config.VocabularySize, comm.Rank, comm.Size);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{flag}: {e.Message}");
        }

        loader.ValidateTokens();
        return loader;
    }

    private static ScheduleKind ParseSchedule(string name) => name switch
    {
        "cosine" => ScheduleKind.Cosine,
        "linear" => ScheduleKind.Linear,
        "constant" => ScheduleKind.Constant,
        _ => ScheduleKind.Wsd,
    };
}
