using System.Diagnostics;
using System.Globalization;
using Gpt2.Backends;
using Gpt2.Data;
using Gpt2.Distributed;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Text;
using Microsoft.Extensions.Logging;

namespace Gpt2.Training;

/// <summary>
/// llm.c's training loop: per step, on their schedules, a validation loss, a sample and a checkpoint; then the step
/// itself (batches, forward, backward with gradient accumulation, clipping, AdamW) and one log line.
/// Writes <c>main.log</c> in llm.c's format (<c>s:STEP trl:LOSS</c>, <c>s:STEP tel:LOSS</c>) to the output folder.
/// With a communicator of several processes (data parallel, as llm.c under MPI) every process runs the same loop on
/// its own slice of each batch; gradients, losses and the decision to stop are agreed on each step, and only rank 0
/// logs, samples and writes checkpoints.
/// </summary>
/// <remarks>Not thread-safe: run it from one thread at a time; its events are raised on the training thread. The trainer does not own the model, the loaders or the communicators: dispose them after it. Dispose releases the output folder's lock and the optimizer's moments.</remarks>
public sealed class Trainer : IDisposable
{
    private readonly Gpt2Model _model;
    private readonly DataLoader _train;
    private readonly DataLoader? _validation;
    private readonly TrainerOptions _o;
    private readonly AdamW _adamw;
    private readonly TokenSampler _sampler;
    private readonly int _accumulation;
    private readonly ICommunicator _comm;
    private readonly DataParallel _dp;
    private readonly OutputFolderLock? _lock;
    private OutlierDetector _lossOutliers = new(), _normOutliers = new();
    private string _runId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
    private string? _lastCheckpoint;
    private StreamWriter? _metrics;
    private int _restoredStep = -1;
    private float? _lastValidationLoss;

    /// <summary>Creates a trainer; B and T are the training loader's.</summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="train">Training batches.</param>
    /// <param name="validation">Validation batches, or null.</param>
    /// <param name="options">The run's settings.</param>
    public Trainer(Gpt2Model model, DataLoader train, DataLoader? validation, TrainerOptions options)
        : this(model, train, validation, options, LocalCommunicator.Instance)
    {
    }

    /// <summary>
    /// Creates a trainer for one process of a data-parallel job. Every process must create its trainer (the initial
    /// parameters are broadcast from rank 0 here); the loaders must be built for the communicator's rank and size.
    /// </summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="train">Training batches of this rank.</param>
    /// <param name="validation">Validation batches of this rank, or null.</param>
    /// <param name="options">The run's settings, the same on every process.</param>
    /// <param name="communicator">The job's processes (<see cref="LocalCommunicator"/> for one).</param>
    public Trainer(Gpt2Model model, DataLoader train, DataLoader? validation, TrainerOptions options, ICommunicator communicator)
        : this(model, train, validation, options, communicator, deviceCommunicator: null)
    {
    }

    /// <summary>
    /// Creates a trainer for one process of a data-parallel job whose parameter and gradient collectives run on the
    /// backend's buffers through <paramref name="deviceCommunicator"/> (for example NCCL), with
    /// <paramref name="communicator"/> for the rest (losses, the stop decision, checkpoints). With a device
    /// communicator the collectives run even in a one-process job, where they change nothing.
    /// </summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="train">Training batches of this rank.</param>
    /// <param name="validation">Validation batches of this rank, or null.</param>
    /// <param name="options">The run's settings, the same on every process.</param>
    /// <param name="communicator">The job's processes (<see cref="LocalCommunicator"/> for one).</param>
    /// <param name="deviceCommunicator">The same processes' device collectives, or null to stage them through host memory.</param>
    public Trainer(Gpt2Model model, DataLoader train, DataLoader? validation, TrainerOptions options, ICommunicator communicator,
        IDeviceCommunicator? deviceCommunicator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(communicator);
        foreach (var (loader, name) in new[] { (train, nameof(train)), (validation, nameof(validation)) })
        {
            if (loader is not null && (loader.Rank != communicator.Rank || loader.WorldSize != communicator.Size))
            {
                throw new ArgumentException($"The loader reads for rank {loader.Rank} of {loader.WorldSize}, but this process is rank {communicator.Rank} of {communicator.Size}.", name);
            }
        }

        options.Validate();
        if (model.Layout.ElementType != ElementType.Float32 && communicator.Size > 1)
        {
            throw new NotSupportedException($"{model.Layout.ElementType.ShortName()} training runs in one process for now; train in fp32 across {communicator.Size} processes.");
        }

        if (options.HellaSwag is { } swag)
        {
            Evaluation.HellaSwagEvaluator.Check(model.Config, swag);
        }

        int bt = train.BatchSize * train.SequenceLength;
        int total = options.TotalBatchTokens == 0 ? bt * train.WorldSize : options.TotalBatchTokens;
        if (total % (bt * train.WorldSize) != 0)
        {
            throw new ArgumentException($"The total batch of {total} tokens is not a multiple of B·T·processes = {bt * train.WorldSize}.", nameof(options));
        }

        _model = model;
        _train = train;
        _validation = validation;
        _o = options;
        _accumulation = total / (bt * train.WorldSize);
        _comm = communicator;
        _dp = new DataParallel(model, communicator, deviceCommunicator, options.ZeroStage == 1);
        _adamw = new AdamW(model, options.Optimizer, _dp.ShardOffset, _dp.ShardLength);
        _sampler = new TokenSampler(options.Seed);
        _dp.BroadcastParameters();
        if (options.OutputDirectory is not null && communicator.Rank == 0)
        {
            _lock = OutputFolderLock.Acquire(options.OutputDirectory);
        }
    }

    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; private set; }

    /// <summary>This process's rank (0 in a single-process run); only rank 0 logs, samples and writes checkpoints.</summary>
    public int Rank => _comm.Rank;

    /// <summary>Micro-batches per step.</summary>
    public int AccumulationSteps => _accumulation;

    /// <summary>Raised after every step, on the training thread.</summary>
    public event EventHandler<TrainStepEventArgs>? StepCompleted;

    /// <summary>Raised after every validation evaluation, on the training thread.</summary>
    public event EventHandler<ValidationEventArgs>? Validated;

    /// <summary>Raised after every HellaSwag evaluation (<see cref="TrainerOptions.HellaSwag"/>), on the training thread.</summary>
    public event EventHandler<HellaSwagEventArgs>? HellaSwagEvaluated;

    /// <summary>Raised after every sample (rank 0 only), on the training thread.</summary>
    public event EventHandler<SampleEventArgs>? Sampled;

    /// <summary>Raised after every checkpoint (rank 0 only), on the training thread.</summary>
    public event EventHandler<CheckpointEventArgs>? Checkpointed;

    /// <summary>Continues from a checkpoint written by this trainer: parameters, optimizer, data position, sampler.</summary>
    /// <param name="modelPath">The checkpoint's model file.</param>
    /// <param name="state">The checkpoint's training state.</param>
    public void Restore(string modelPath, TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.ModelSha256 is { } expected && IO.HashingStream.Sha256Of(modelPath) != expected)
        {
            throw new CheckpointMismatchException($"{modelPath} is not the model file its training state was written with (SHA-256 differs); " +
                "the pair mixes two runs or the model file was replaced.");
        }

        var (config, _, parameters) = Formats.ModelFile.Read(modelPath);
        if (config != _model.Config)
        {
            throw new Formats.FileFormatException(modelPath, "the checkpoint's model shape differs from the model being trained.");
        }

        if (_model.Layout.FindNonFinite(parameters) is { } bad)
        {
            throw new Formats.FileFormatException(modelPath, $"parameter {bad}; a checkpoint with NaN or infinite parameters is refused.");
        }

        if (!_o.AllowResumeChanges && state.Settings.Count > 0)
        {
            var now = Settings();
            var changed = state.Settings.Keys.Union(now.Keys)
                .Where(k => state.Settings.GetValueOrDefault(k) != now.GetValueOrDefault(k))
                .Select(k => $"{k}: checkpoint {state.Settings.GetValueOrDefault(k) ?? "(none)"}, now {now.GetValueOrDefault(k) ?? "(none)"}")
                .ToList();
            if (changed.Count > 0)
            {
                throw new CheckpointMismatchException($"The checkpoint at step {state.Step} was trained with other settings ({string.Join("; ", changed)}). " +
                    "Resume with the same settings, or allow the change deliberately (TrainerOptions.AllowResumeChanges; gpt2 train --allow-resume-changes).");
            }
        }

        if (state.TrainPosition.Shard >= _train.Shards.Count || state.TrainPosition.Sample < 0)
        {
            throw new CheckpointMismatchException($"The checkpoint reads training shard {state.TrainPosition.Shard + 1} next, but only {_train.Shards.Count} shard(s) match now.");
        }

        // a bf16 checkpoint carries fp32 master weights: a bf16 model resumes from both, an fp32 model takes the masters
        _model.SetParameters(_adamw.MasterWeights is null && state.MasterWeights is { } masters ? masters : parameters);
        if (_adamw.MasterWeights is { } weights)
        {
            if (state.MasterWeights is { } saved)
            {
                _model.Backend.Upload<float>(saved, weights);
            }
            else
            {
                _model.Backend.Upload<float>(parameters, weights); // an fp32 checkpoint: its values, before bf16 rounding
            }
        }

        _dp.ScatterMoments(state.FirstMoment, _adamw.FirstMoment);
        _dp.ScatterMoments(state.SecondMoment, _adamw.SecondMoment);
        _adamw.StepCount = state.OptimizerStep;
        _train.Seek(state.TrainPosition);
        _sampler.State = state.SamplerState;
        _runId = state.RunId ?? _runId;
        _lossOutliers = state.LossOutliers is { } l ? OutlierDetector.Restore(l) : new();
        _normOutliers = state.NormOutliers is { } n ? OutlierDetector.Restore(n) : new();
        _lastCheckpoint = modelPath;
        Step = state.Step;
        _restoredStep = state.Step;
    }

    /// <summary>The run's id: random for a new run, the checkpoint's after <see cref="Restore"/>; every checkpoint records it.</summary>
    public string RunId => _runId;

    /// <summary>Restores the newest complete checkpoint in a folder (see <see cref="CheckpointFolder.FindLatest"/>), if there is one.</summary>
    /// <param name="directory">The folder, usually <see cref="TrainerOptions.OutputDirectory"/>.</param>
    /// <returns>True when a checkpoint was restored; <see cref="Step"/> then says where the run continues.</returns>
    /// <exception cref="Formats.FileFormatException">The checkpoint is malformed or of another model shape.</exception>
    public bool TryRestoreLatest(string directory)
    {
        if (new CheckpointFolder(directory).FindLatest() is not { } checkpoint)
        {
            return false;
        }

        Restore(checkpoint.ModelPath, TrainingState.Read(checkpoint.StatePath, _model.Layout.Count));
        return true;
    }

    /// <summary>Runs until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled.</summary>
    /// <param name="cancellationToken">
    /// Stops the run between steps; with <see cref="TrainerOptions.CheckpointOnCancel"/> and an output folder, a
    /// checkpoint of the last completed step is written first.
    /// </param>
    /// <returns>What the run did.</returns>
    public TrainingSummary Run(CancellationToken cancellationToken = default) => Run(null, cancellationToken);

    /// <summary>Runs on the thread pool until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled.</summary>
    /// <param name="progress">Receives a report after every step (as <see cref="StepCompleted"/>).</param>
    /// <param name="cancellationToken">
    /// Stops the run between steps; with <see cref="TrainerOptions.CheckpointOnCancel"/> and an output folder, a
    /// checkpoint of the last completed step is written first. The task then completes normally, with
    /// <see cref="TrainingSummary.Cancelled"/> set.
    /// </param>
    /// <returns>What the run did.</returns>
    public Task<TrainingSummary> RunAsync(IProgress<TrainStepEventArgs>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Run(progress, cancellationToken), CancellationToken.None);

    /// <summary>
    /// Runs until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled. As llm.c's main:
    /// at every step, on their schedules (and at the end), a validation loss, a sample and a checkpoint; then the
    /// step and one log line.
    /// </summary>
    /// <param name="progress">Receives a report after every step (as <see cref="StepCompleted"/>).</param>
    /// <param name="cancellationToken">Stops the run between steps (see <see cref="Run(CancellationToken)"/>).</param>
    /// <returns>What the run did.</returns>
    public TrainingSummary Run(IProgress<TrainStepEventArgs>? progress, CancellationToken cancellationToken = default)
    {
        var wall = Stopwatch.StartNew();
        int firstStep = Step;
        float? lastLoss = null;
        Checkpoint? checkpoint = null;
        bool cancelled = false;
        PrepareOutputFolder();
        using var log = OpenRunFile("main.log", LogStep);
        using var metrics = _metrics = OpenRunFile("metrics.jsonl", MetricsStep);
        Log(LogLevel.Information, "training from step {Step} to {MaxSteps}, run {RunId}", Step, _o.MaxSteps, _runId);
        if (_o.OverfitSingleBatch)
        {
            _train.NextBatch();
        }

        while (true)
        {
            bool last = Step >= _o.MaxSteps || (cancelled = StopRequested(cancellationToken));
            // a restored step had its evaluation, sample and checkpoint before the checkpoint was written
            if (Step != _restoredStep)
            {
                if ((_validation is not null || _o.HellaSwag is not null) && !cancelled && (Due(_o.ValidationEvery) || last))
                {
                    Evaluate(log);
                }

                if (_o.SampleTokens > 0 && _comm.Rank == 0 && !cancelled && (Due(_o.SampleEvery) || last))
                {
                    // drawn even when nobody listens: the sampler's state is part of a checkpoint
                    Sampled?.Invoke(this, new SampleEventArgs(Step, Generate(_o.SampleTokens)));
                }

                if (_o.OutputDirectory is not null && Step > 0 && (!cancelled || _o.CheckpointOnCancel) && (last || Due(_o.CheckpointEvery)))
                {
                    checkpoint = SaveCheckpoint(_o.OutputDirectory);
                }
            }

            if (last)
            {
                break;
            }

            var report = TimedStep();
            lastLoss = report.Loss;
            // llm.c's logger_log_train line, so its plotting notebook reads our logs
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} trl:{report.Loss:F4} lr:{report.LearningRate:F6} norm:{report.GradientNorm:F2}"));
            Record(report);
            StepCompleted?.Invoke(this, report);
            progress?.Report(report);
            Step++;
        }

        int steps = Step - firstStep;
        return new TrainingSummary(Step, steps, (long)steps * TokensPerStep, lastLoss, _lastValidationLoss, cancelled, checkpoint?.ModelPath, wall.Elapsed);
    }

    /// <summary>
    /// Mean loss over the first <see cref="TrainerOptions.ValidationBatches"/> validation batches (in a data-parallel
    /// job, of every process's slices: every process calls it).
    /// </summary>
    /// <returns>The loss.</returns>
    public float Validate()
    {
        var val = _validation ?? throw new InvalidOperationException("No validation loader.");
        val.Reset();
        int batches = (int)Math.Max(1, Math.Min(_o.ValidationBatches, val.BatchesPerEpoch));
        double sum = 0;
        for (int i = 0; i < batches; i++)
        {
            val.NextBatch();
            sum += _model.Forward(val.Inputs, val.Targets, val.BatchSize, val.SequenceLength);
        }

        return _dp.Sum((float)(sum / batches)) / _comm.Size;
    }

    /// <summary>Generates text from an end-of-text token with the KV cache.</summary>
    /// <param name="tokens">Tokens to generate.</param>
    /// <returns>The text.</returns>
    public string Generate(int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        var text = new System.Text.StringBuilder();
        foreach (var token in TextGeneration.Stream(_model, [Gpt2Tokenizer.EndOfText], _sampler, tokens, stopAtEndOfText: false, null, CancellationToken.None))
        {
            text.Append(token.Text);
        }

        return text.ToString();
    }

    /// <summary>
    /// Writes model_STEP.bin and state_STEP.bin (8-digit step) into a folder, atomically (see <see cref="CheckpointFolder"/>).
    /// In a data-parallel job every process calls it (sharded moments are gathered) and rank 0 writes.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The model file's path.</returns>
    public string Checkpoint(string directory) => SaveCheckpoint(directory).ModelPath;

    /// <inheritdoc/>
    public void Dispose()
    {
        _adamw.Dispose();
        _lock?.Dispose();
    }

    private bool Due(int every) => every > 0 && Step % every == 0;

    private int TokensPerStep => _accumulation * _train.BatchSize * _train.SequenceLength;

    /// <summary>Every process stops at the same step, or the others would wait in the next collective.</summary>
    private bool StopRequested(CancellationToken cancellationToken) => _dp.Sum(cancellationToken.IsCancellationRequested ? 1f : 0f) > 0f;

    /// <summary>
    /// One optimizer step: gradients accumulated over the micro-batches (each process's loss scaled so that the sum
    /// over processes is the mean), summed over processes, clipped by the global norm, AdamW.
    /// </summary>
    private (float Loss, float LearningRate, float GradientNorm, string? Skipped) TrainStep()
    {
        _model.ZeroGrad();
        double loss = 0;
        for (int micro = 0; micro < _accumulation; micro++)
        {
            if (!_o.OverfitSingleBatch)
            {
                _train.NextBatch();
            }

            loss += _model.Forward(_train.Inputs, _train.Targets, _train.BatchSize, _train.SequenceLength);
            _model.Backward(1f / (_accumulation * _comm.Size));
        }

        _dp.ReduceGradients();
        float lr = _o.ResolvedSchedule.At(Step);
        float meanLoss = _dp.Sum((float)loss) / (_accumulation * _comm.Size);
        float norm = _dp.GradientNorm(_adamw);
        if (!float.IsFinite(meanLoss) || !float.IsFinite(norm))
        {
            // before the update: the parameters stay as the last good step left them
            static string Text(float x) => float.IsNaN(x) ? "NaN" : x > 0 ? "+inf" : "-inf";
            throw Diverged(float.IsFinite(meanLoss) ? $"gradient norm {Text(norm)}" : $"loss {Text(meanLoss)}", gradients: true);
        }

        double zLoss = _lossOutliers.Update(meanLoss), zNorm = _normOutliers.Update(norm);
        string? skipped = _o.SkipLossZScore > 0 && zLoss > _o.SkipLossZScore
            ? string.Create(CultureInfo.InvariantCulture, $"loss z-score {zLoss:F2} > {_o.SkipLossZScore}")
            : _o.SkipGradientNormZScore > 0 && zNorm > _o.SkipGradientNormZScore
                ? string.Create(CultureInfo.InvariantCulture, $"gradient norm z-score {zNorm:F2} > {_o.SkipGradientNormZScore}")
                : null;
        if (skipped is null)
        {
            _adamw.Step(lr, _o.Optimizer.MaxGradientNorm is null ? null : norm);
            _dp.GatherParameters();
        }

        return (meanLoss, lr, norm, skipped);
    }

    private TrainingDivergedException Diverged(string what, bool gradients)
    {
        var values = new float[_model.Layout.Count];
        string? tensor = null;
        if (gradients)
        {
            _model.GetGradients(values);
            tensor = _model.Layout.FindNonFinite(values) is { } g ? "gradient of " + g : null;
        }

        if (tensor is null)
        {
            _model.GetParameters(values);
            tensor = _model.Layout.FindNonFinite(values);
        }

        if (tensor is null && gradients)
        {
            what += " (every gradient and parameter is finite: their squares overflow float32)";
        }

        var diverged = new TrainingDivergedException(Step, what, tensor, _lastCheckpoint);
        Log(LogLevel.Error, "{Message}", diverged.Message);
        return diverged;
    }

    /// <summary>What this run trains with, by name: recorded in every checkpoint and compared on resume.</summary>
    private Dictionary<string, string> Settings()
    {
        var c = _model.Config;
        var s = _o.ResolvedSchedule;
        var a = _o.Optimizer;
        string Data(DataLoader? loader) => loader is null ? "(none)" : string.Join(", ", loader.Shards.Select(Path.GetFileName));
        var settings = new Dictionary<string, string>
        {
            ["model"] = $"L={c.LayerCount} NH={c.HeadCount} C={c.ChannelCount} V={c.VocabularySize} Vp={c.PaddedVocabularySize} maxT={c.MaxSequenceLength}",
            ["batch"] = $"B={_train.BatchSize} T={_train.SequenceLength}, {TokensPerStep * _comm.Size} tokens per step, {_comm.Size} process(es)",
            ["training data"] = $"{Data(_train)} ({_train.TokenCount} tokens)",
            ["validation data"] = _validation is null ? "(none)" : $"{Data(_validation)} ({_validation.TokenCount} tokens)",
            ["schedule"] = string.Create(CultureInfo.InvariantCulture, $"{s.Kind} lr {s.LearningRate:R} warmup {s.WarmupSteps} over {s.TotalSteps} steps to {s.FinalFraction:R}"),
            ["optimizer"] = string.Create(CultureInfo.InvariantCulture,
                $"AdamW beta1 {a.Beta1:R} beta2 {a.Beta2:R} eps {a.Epsilon:R} decay {a.WeightDecay:R} on {a.WeightDecayMode}, clip {a.MaxGradientNorm?.ToString("R", CultureInfo.InvariantCulture) ?? "off"}, ZeRO {_o.ZeroStage}"),
            ["seed"] = _o.Seed.ToString(CultureInfo.InvariantCulture),
            ["overfit single batch"] = _o.OverfitSingleBatch ? "yes" : "no",
        };
        if (_model.Layout.ElementType != ElementType.Float32)
        {
            // absent for fp32, as in checkpoints written before bf16
            settings["precision"] = _model.Layout.ElementType.ShortName() + (_o.Optimizer.MasterWeights ? ", fp32 master weights" : ", no master weights");
        }

        return settings;
    }

    /// <summary>The step with its wall time and the time the host spent in collectives.</summary>
    private TrainStepEventArgs TimedStep()
    {
        long start = Stopwatch.GetTimestamp();
        var communication = _dp.CommunicationTime;
        var (loss, lr, norm, skipped) = TrainStep();
        _model.Backend.Synchronize();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        double communicationMs = (_dp.CommunicationTime - communication).TotalMilliseconds;
        double tokensPerSecond = (double)TokensPerStep * _comm.Size / (ms / 1000);
        double? mfu = _model.Backend.PeakFlops is double peak && peak > 0
            ? _model.Config.TrainingFlopsPerToken(_train.SequenceLength) * tokensPerSecond / (peak * _comm.Size)
            : null;
        return new TrainStepEventArgs(Step, _o.MaxSteps, loss, _lastValidationLoss, lr, norm, ms, tokensPerSecond, communicationMs, skipped, mfu);
    }

    private void Evaluate(StreamWriter? log)
    {
        if (_validation is not null)
        {
            float loss = Validate();
            _lastValidationLoss = loss;
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} tel:{loss:F4}"));
            if (_comm.Rank == 0)
            {
                TrainingMetrics.ValidationLoss.Record(loss);
                WriteMetrics(new() { ["type"] = "val", ["step"] = Step, ["loss"] = loss });
                Log(LogLevel.Information, "step {Step}: validation loss {Loss:F4}", Step, loss);
            }

            Validated?.Invoke(this, new ValidationEventArgs(Step, loss));
        }

        if (_o.HellaSwag is { } examples)
        {
            var mine = Evaluation.HellaSwagEvaluator.Evaluate(_model, examples, _comm.Rank, _comm.Size);
            int correct = (int)_dp.Sum(mine.CorrectNormalized), total = (int)_dp.Sum(mine.Examples);
            double accuracy = total == 0 ? 0 : (double)correct / total;
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} eval:{accuracy:F4}"));
            if (_comm.Rank == 0)
            {
                TrainingMetrics.HellaSwagAccuracy.Record(accuracy);
                WriteMetrics(new() { ["type"] = "hellaswag", ["step"] = Step, ["acc_norm"] = accuracy, ["examples"] = total });
                Log(LogLevel.Information, "step {Step}: HellaSwag acc_norm {Accuracy:F4} over {Examples} examples", Step, accuracy, total);
            }

            HellaSwagEvaluated?.Invoke(this, new HellaSwagEventArgs(Step, accuracy, total));
        }
    }

    private Checkpoint SaveCheckpoint(string directory)
    {
        var folder = new CheckpointFolder(directory);
        var m = _dp.GatherMoments(_adamw.FirstMoment);
        var v = _dp.GatherMoments(_adamw.SecondMoment);
        if (_comm.Rank != 0)
        {
            return folder.At(Step);
        }

        float[]? master = null;
        if (_adamw.MasterWeights is { } weights)
        {
            master = new float[weights.Length];
            _model.Backend.Download(weights, master);
        }

        var state = new TrainingState(Step, _adamw.StepCount, _train.Position, _sampler.State, m, v)
        {
            RunId = _runId, Settings = Settings(), MasterWeights = master, LossOutliers = _lossOutliers.Save(), NormOutliers = _normOutliers.Save(),
        };
        var checkpoint = folder.Write(_model, state, out string? nonFinite)
            ?? throw new TrainingDivergedException(Step, "parameters are not finite, so no checkpoint was written", nonFinite, _lastCheckpoint);
        _lastCheckpoint = checkpoint.ModelPath;
        Log(LogLevel.Information, "step {Step}: checkpoint {Path}", Step, checkpoint.ModelPath);
        folder.Prune(_o.KeepCheckpoints, _o.MajorCheckpointEvery);
        Checkpointed?.Invoke(this, new CheckpointEventArgs(checkpoint));
        return checkpoint;
    }

    /// <summary>
    /// On rank 0, before the log is opened: removes what interrupted checkpoints left behind, and refuses (or, told
    /// to, clears) checkpoints of an earlier run in the folder of a run that does not resume.
    /// </summary>
    private void PrepareOutputFolder()
    {
        if (_o.OutputDirectory is not { } directory || _comm.Rank != 0)
        {
            return;
        }

        var folder = new CheckpointFolder(directory);
        folder.CleanUp();
        if (_restoredStep >= 0 || folder.FindAll() is not { Count: > 0 } earlier)
        {
            return;
        }

        if (!_o.OverwriteCheckpoints)
        {
            throw new CheckpointMismatchException($"{directory} holds checkpoints of an earlier run (up to step {earlier[^1].Step}), which a later resume " +
                "would mix with this run's: resume it (gpt2 train -y 1; Trainer.TryRestoreLatest) or start over (--overwrite; TrainerOptions.OverwriteCheckpoints).");
        }

        foreach (var c in earlier)
        {
            File.Delete(c.StatePath);
            File.Delete(c.ModelPath);
        }
    }

    /// <summary>After each step on rank 0: the meter, metrics.jsonl and the logger.</summary>
    private void Record(TrainStepEventArgs r)
    {
        if (_comm.Rank != 0)
        {
            return;
        }

        TrainingMetrics.Steps.Add(1);
        TrainingMetrics.Tokens.Add((long)TokensPerStep * _comm.Size);
        TrainingMetrics.Loss.Record(r.Loss);
        TrainingMetrics.GradientNorm.Record(r.GradientNorm);
        TrainingMetrics.LearningRate.Record(r.LearningRate);
        TrainingMetrics.StepTime.Record(r.Milliseconds);
        TrainingMetrics.TokensPerSecond.Record(r.TokensPerSecond);
        if (r.ModelFlopUtilization is double mfu)
        {
            TrainingMetrics.ModelFlopUtilization.Record(mfu);
        }
        // built only when written: nothing is allocated per step without an output folder or a debug logger
        if (_metrics is not null)
        {
            WriteMetrics(new()
            {
                ["type"] = "step", ["step"] = r.Step, ["loss"] = r.Loss, ["lr"] = r.LearningRate, ["norm"] = r.GradientNorm,
                ["ms"] = Math.Round(r.Milliseconds, 3), ["tokens_per_s"] = Math.Round(r.TokensPerSecond, 1),
                ["mfu"] = r.ModelFlopUtilization is double m ? Math.Round(m, 5) : null, ["skipped"] = r.SkippedUpdate,
            });
        }

        if (_o.Logger?.IsEnabled(LogLevel.Debug) == true)
        {
            Log(LogLevel.Debug, "step {Step}: loss {Loss:F4}, lr {LearningRate:E2}, norm {GradientNorm:F3}, {Milliseconds:F1} ms", r.Step, r.Loss, r.LearningRate, r.GradientNorm, r.Milliseconds);
        }
    }

    private void Log(LogLevel level, string message, params object?[] args)
    {
        if (_comm.Rank == 0 && _o.Logger is { } logger && logger.IsEnabled(level))
        {
#pragma warning disable CA2254 // the templates are constants at every call site
            logger.Log(level, message, args);
#pragma warning restore CA2254
        }
    }

    private void WriteMetrics(System.Text.Json.Nodes.JsonObject entry) => _metrics?.WriteLine(entry.ToJsonString());

    /// <summary>
    /// A file of the run in the output folder (main.log, metrics.jsonl), on rank 0. A resumed run first cuts it back to
    /// the restored step: that step's evaluation lines stay (they came before its checkpoint), its training line and all
    /// later lines go, and so does a line a kill cut short, so a run interrupted any number of times ends with the file
    /// of an uninterrupted one.
    /// </summary>
    private StreamWriter? OpenRunFile(string name, Func<string, (int Step, bool IsTrain)?> entryOf)
    {
        if (_o.OutputDirectory is null || _comm.Rank != 0)
        {
            return null;
        }

        Directory.CreateDirectory(_o.OutputDirectory);
        string path = Path.Combine(_o.OutputDirectory, name);
        if (Step > 0 && File.Exists(path))
        {
            var kept = File.ReadAllLines(path).Where(line => entryOf(line) is { } e && (e.Step < Step || (e.Step == Step && !e.IsTrain))).ToList();
            IO.AtomicFile.Write(path, stream =>
            {
                using var w = new StreamWriter(stream, leaveOpen: true);
                kept.ForEach(w.WriteLine);
            });
        }

        return new StreamWriter(path, append: Step > 0) { AutoFlush = true };
    }

    /// <summary>The step of a metrics.jsonl object and whether it is a step's (not an evaluation's); null for a cut line.</summary>
    private static (int Step, bool IsTrain)? MetricsStep(string line)
    {
        try
        {
            var o = System.Text.Json.Nodes.JsonNode.Parse(line);
            return ((int)o!["step"]!, (string?)o["type"] == "step");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return null;
        }
    }

    /// <summary>The step of a main.log line (<c>s:STEP trl:…</c> or <c>s:STEP tel:…</c>) and whether it is a training line.</summary>
    private static (int Step, bool IsTrain)? LogStep(string line)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        return line.StartsWith("s:", StringComparison.Ordinal) && space > 2
            && int.TryParse(line.AsSpan(2, space - 2), NumberStyles.None, CultureInfo.InvariantCulture, out int step)
            ? (step, line.AsSpan(space + 1).StartsWith("trl:", StringComparison.Ordinal))
            : null;
    }
}
