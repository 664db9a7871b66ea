using System.Diagnostics;
using System.Globalization;
using Gpt2.Data;
using Gpt2.Distributed;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Text;

namespace Gpt2.Training;

/// <summary>
/// llm.c's training loop: per step, on their schedules, a validation loss, a sample and a checkpoint; then the step
/// itself (batches, forward, backward with gradient accumulation, clipping, AdamW) and one log line.
/// Writes <c>main.log</c> in llm.c's format (<c>s:STEP trl:LOSS</c>, <c>s:STEP tel:LOSS</c>) to the output folder.
/// With a communicator of several processes (data parallel, as llm.c under MPI) every process runs the same loop on
/// its own slice of each batch; gradients, losses and the decision to stop are agreed on each step, and only rank 0
/// logs, samples and writes checkpoints.
/// </summary>
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

        if (options.ZeroStage is not (0 or 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ZeroStage, "ZeroStage must be 0 (plain data parallel) or 1 (sharded optimizer state).");
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
    }

    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; private set; }

    /// <summary>This process's rank (0 in a single-process run); only rank 0 logs, samples and writes checkpoints.</summary>
    public int Rank => _comm.Rank;

    /// <summary>Micro-batches per step.</summary>
    public int AccumulationSteps => _accumulation;

    /// <summary>Raised after every step.</summary>
    public event Action<TrainStepReport>? StepCompleted;

    /// <summary>Raised after every validation evaluation.</summary>
    public event Action<ValidationReport>? Validated;

    /// <summary>Raised after every sample.</summary>
    public event Action<SampleReport>? Sampled;

    /// <summary>Raised after every checkpoint, with the model file's path.</summary>
    public event Action<string>? Checkpointed;

    /// <summary>Continues from a checkpoint written by this trainer: parameters, optimizer, data position, sampler.</summary>
    /// <param name="modelPath">The checkpoint's model file.</param>
    /// <param name="state">The checkpoint's training state.</param>
    public void Restore(string modelPath, TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (config, _, parameters) = Formats.ModelFile.Read(modelPath);
        if (config != _model.Config)
        {
            throw new Formats.FileFormatException(modelPath, "the checkpoint's model shape differs from the model being trained.");
        }

        _model.SetParameters(parameters);
        _dp.ScatterMoments(state.FirstMoment, _adamw.FirstMoment);
        _dp.ScatterMoments(state.SecondMoment, _adamw.SecondMoment);
        _adamw.StepCount = state.OptimizerStep;
        _train.Seek(state.TrainPosition);
        _sampler.State = state.SamplerState;
        Step = state.Step;
        _restoredStep = state.Step;
    }

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
    public Task<TrainingSummary> RunAsync(IProgress<TrainStepReport>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Run(progress, cancellationToken), CancellationToken.None);

    /// <summary>
    /// Runs until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled. As llm.c's main:
    /// at every step, on their schedules (and at the end), a validation loss, a sample and a checkpoint; then the
    /// step and one log line.
    /// </summary>
    /// <param name="progress">Receives a report after every step (as <see cref="StepCompleted"/>).</param>
    /// <param name="cancellationToken">Stops the run between steps (see <see cref="Run(CancellationToken)"/>).</param>
    /// <returns>What the run did.</returns>
    public TrainingSummary Run(IProgress<TrainStepReport>? progress, CancellationToken cancellationToken = default)
    {
        var wall = Stopwatch.StartNew();
        int firstStep = Step;
        float? lastLoss = null;
        Checkpoint? checkpoint = null;
        bool cancelled = false;
        using var log = OpenLog();
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
                if (_validation is not null && !cancelled && (Due(_o.ValidationEvery) || last))
                {
                    Evaluate(log);
                }

                if (_o.SampleTokens > 0 && _comm.Rank == 0 && !cancelled && (Due(_o.SampleEvery) || last))
                {
                    // drawn even when nobody listens: the sampler's state is part of a checkpoint
                    Sampled?.Invoke(new SampleReport(Step, Generate(_o.SampleTokens)));
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
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} trl:{report.Loss:F4}"));
            StepCompleted?.Invoke(report);
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
    public void Dispose() => _adamw.Dispose();

    private bool Due(int every) => every > 0 && Step % every == 0;

    private int TokensPerStep => _accumulation * _train.BatchSize * _train.SequenceLength;

    /// <summary>Every process stops at the same step, or the others would wait in the next collective.</summary>
    private bool StopRequested(CancellationToken cancellationToken) => _dp.Sum(cancellationToken.IsCancellationRequested ? 1f : 0f) > 0f;

    /// <summary>
    /// One optimizer step: gradients accumulated over the micro-batches (each process's loss scaled so that the sum
    /// over processes is the mean), summed over processes, clipped by the global norm, AdamW.
    /// </summary>
    private (float Loss, float LearningRate, float GradientNorm) TrainStep()
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
        float lr = _o.Schedule.At(Step);
        float norm = _adamw.Step(lr, _o.Optimizer.MaxGradientNorm is null ? null : _dp.GradientNorm(_adamw));
        _dp.GatherParameters();
        return (_dp.Sum((float)loss) / (_accumulation * _comm.Size), lr, norm);
    }

    /// <summary>The step with its wall time and the time the host spent in collectives.</summary>
    private TrainStepReport TimedStep()
    {
        long start = Stopwatch.GetTimestamp();
        var communication = _dp.CommunicationTime;
        var (loss, lr, norm) = TrainStep();
        _model.Backend.Synchronize();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        double communicationMs = (_dp.CommunicationTime - communication).TotalMilliseconds;
        return new TrainStepReport(Step, _o.MaxSteps, loss, _lastValidationLoss, lr, norm, ms, (double)TokensPerStep * _comm.Size / (ms / 1000), communicationMs);
    }

    private void Evaluate(StreamWriter? log)
    {
        float loss = Validate();
        _lastValidationLoss = loss;
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} tel:{loss:F4}"));
        Validated?.Invoke(new ValidationReport(Step, loss));
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

        var checkpoint = folder.Write(_model, new TrainingState(Step, _adamw.StepCount, _train.Position, _sampler.State, m, v));
        Checkpointed?.Invoke(checkpoint.ModelPath);
        return checkpoint;
    }

    /// <summary>main.log in the output folder, on rank 0; appended to when the run continues a checkpoint.</summary>
    private StreamWriter? OpenLog()
    {
        if (_o.OutputDirectory is null || _comm.Rank != 0)
        {
            return null;
        }

        Directory.CreateDirectory(_o.OutputDirectory);
        return new StreamWriter(Path.Combine(_o.OutputDirectory, "main.log"), append: Step > 0) { AutoFlush = true };
    }
}
