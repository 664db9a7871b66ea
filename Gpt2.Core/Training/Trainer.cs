using System.Diagnostics;
using System.Globalization;
using Gpt2.Data;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Text;

namespace Gpt2.Training;

/// <summary>
/// llm.c's training loop: per step, on their schedules, a validation loss, a sample and a checkpoint; then the step
/// itself (batches, forward, backward with gradient accumulation, clipping, AdamW) and one log line.
/// Writes <c>main.log</c> in llm.c's format (<c>s:STEP trl:LOSS</c>, <c>s:STEP tel:LOSS</c>) to the output folder.
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
    private int _restoredStep = -1;
    private float? _lastValidationLoss;

    /// <summary>Creates a trainer; the loaders' B and T must match the options.</summary>
    /// <param name="model">The model, trained in place.</param>
    /// <param name="train">Training batches.</param>
    /// <param name="validation">Validation batches, or null.</param>
    /// <param name="options">The run's settings.</param>
    public Trainer(Gpt2Model model, DataLoader train, DataLoader? validation, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        int bt = options.BatchSize * options.SequenceLength;
        if (train.BatchSize != options.BatchSize || train.SequenceLength != options.SequenceLength)
        {
            throw new ArgumentException("The training loader's B and T differ from the options.", nameof(train));
        }

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
        _adamw = new AdamW(model, options.Optimizer);
        _sampler = new TokenSampler(options.Seed);
    }

    /// <summary>Optimizer steps completed.</summary>
    public int Step { get; private set; }

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
        var be = _model.Backend;
        be.Upload<float>(state.FirstMoment, _adamw.FirstMoment.View);
        be.Upload<float>(state.SecondMoment, _adamw.SecondMoment.View);
        _adamw.StepCount = state.OptimizerStep;
        _train.Seek(state.TrainPosition);
        _sampler.State = state.SamplerState;
        Step = state.Step;
        _restoredStep = state.Step;
    }

    /// <summary>Restores the newest complete checkpoint in a folder (see <see cref="FindLatestCheckpoint"/>), if there is one.</summary>
    /// <param name="directory">The folder, usually <see cref="TrainerOptions.OutputDirectory"/>.</param>
    /// <returns>True when a checkpoint was restored; <see cref="Step"/> then says where the run continues.</returns>
    /// <exception cref="Formats.FileFormatException">The checkpoint is malformed or of another model shape.</exception>
    public bool TryRestoreLatest(string directory)
    {
        if (FindLatestCheckpoint(directory) is not { } checkpoint)
        {
            return false;
        }

        Restore(checkpoint.Model, TrainingState.Read(checkpoint.State, _model.Layout.Count));
        return true;
    }

    /// <summary>Runs until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled.</summary>
    /// <param name="cancellation">
    /// Stops the run between steps; with <see cref="TrainerOptions.CheckpointOnCancel"/> and an output folder, a
    /// checkpoint of the last completed step is written first.
    /// </param>
    /// <returns>What the run did.</returns>
    public TrainingSummary Run(CancellationToken cancellation = default) => Run(null, cancellation);

    /// <summary>Runs on the thread pool until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled.</summary>
    /// <param name="progress">Receives a report after every step (as <see cref="StepCompleted"/>).</param>
    /// <param name="cancellation">
    /// Stops the run between steps; with <see cref="TrainerOptions.CheckpointOnCancel"/> and an output folder, a
    /// checkpoint of the last completed step is written first. The task then completes normally, with
    /// <see cref="TrainingSummary.Cancelled"/> set.
    /// </param>
    /// <returns>What the run did.</returns>
    public Task<TrainingSummary> RunAsync(IProgress<TrainStepReport>? progress = null, CancellationToken cancellation = default) =>
        Task.Run(() => Run(progress, cancellation), CancellationToken.None);

    /// <summary>Runs until <see cref="TrainerOptions.MaxSteps"/> steps are done or the token is cancelled.</summary>
    /// <param name="progress">Receives a report after every step (as <see cref="StepCompleted"/>).</param>
    /// <param name="cancellation">Stops the run between steps (see <see cref="Run(CancellationToken)"/>).</param>
    /// <returns>What the run did.</returns>
    public TrainingSummary Run(IProgress<TrainStepReport>? progress, CancellationToken cancellation = default)
    {
        int b = _o.BatchSize, t = _o.SequenceLength;
        var wall = Stopwatch.StartNew();
        int firstStep = Step;
        float? lastLoss = null;
        string? checkpoint = null;
        using var log = _o.OutputDirectory is null ? null : OpenLog();
        if (_o.OverfitSingleBatch)
        {
            _train.NextBatch();
        }

        while (true)
        {
            bool cancelled = cancellation.IsCancellationRequested && Step < _o.MaxSteps;
            bool last = Step >= _o.MaxSteps || cancelled;
            bool resumedHere = Step == _restoredStep; // this step's evaluation, sample and checkpoint happened before the checkpoint was written
            if (_validation is not null && !resumedHere && !cancelled && (Due(_o.ValidationEvery) || last))
            {
                float val = Validate();
                _lastValidationLoss = val;
                log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} tel:{val:F4}"));
                Validated?.Invoke(new ValidationReport(Step, val));
            }

            if (_o.SampleTokens > 0 && !resumedHere && !cancelled && (Due(_o.SampleEvery) || last))
            {
                string sample = Generate(_o.SampleTokens); // drawn even when nobody listens: the sampler's state is part of a checkpoint
                Sampled?.Invoke(new SampleReport(Step, sample));
            }

            if (_o.OutputDirectory is not null && Step > 0 && !resumedHere && (!cancelled || _o.CheckpointOnCancel)
                && (last || (_o.CheckpointEvery > 0 && Step % _o.CheckpointEvery == 0)))
            {
                checkpoint = Checkpoint(_o.OutputDirectory);
                Checkpointed?.Invoke(checkpoint);
            }

            if (last)
            {
                int steps = Step - firstStep;
                return new TrainingSummary(Step, steps, (long)steps * _accumulation * b * t, lastLoss, _lastValidationLoss, cancelled, checkpoint, wall.Elapsed);
            }

            // ---- training step ----
            var clock = Stopwatch.StartNew();
            _model.ZeroGrad();
            double loss = 0;
            for (int micro = 0; micro < _accumulation; micro++)
            {
                if (!_o.OverfitSingleBatch)
                {
                    _train.NextBatch();
                }

                loss += _model.Forward(_train.Inputs, _train.Targets, b, t);
                _model.Backward(1f / _accumulation);
            }

            float lr = _o.Schedule.At(Step);
            float norm = _adamw.Step(lr);
            _model.Backend.Synchronize();
            double ms = clock.Elapsed.TotalMilliseconds;
            float mean = (float)(loss / _accumulation);
            lastLoss = mean;
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s:{Step} trl:{mean:F4}"));
            var report = new TrainStepReport(Step, _o.MaxSteps, mean, _lastValidationLoss, lr, norm, ms, _accumulation * b * t / (ms / 1000));
            StepCompleted?.Invoke(report);
            progress?.Report(report);
            Step++;
        }
    }

    /// <summary>Mean loss over the first <see cref="TrainerOptions.ValidationBatches"/> validation batches.</summary>
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

        return (float)(sum / batches);
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

    /// <summary>Writes model_STEP.bin and state_STEP.bin (8-digit step) into a folder, atomically.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The model file's path.</returns>
    public string Checkpoint(string directory)
    {
        string model = Path.Combine(directory, $"model_{Step:D8}.bin");
        var m = new float[_model.Layout.Count];
        var v = new float[_model.Layout.Count];
        _model.Backend.Download(_adamw.FirstMoment.View, m);
        _model.Backend.Download(_adamw.SecondMoment.View, v);
        // the state first: a model file without its state is never taken for a complete checkpoint
        new TrainingState(Step, _adamw.StepCount, _train.Position, _sampler.State, m, v).Write(Path.Combine(directory, $"state_{Step:D8}.bin"));
        _model.Save(model);
        return model;
    }

    /// <summary>The newest complete checkpoint in a folder (both files present), or null.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The model and state paths.</returns>
    public static (string Model, string State)? FindLatestCheckpoint(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return null;
        }

        return Directory.GetFiles(directory, "state_*.bin")
            .Select(s => (Model: Path.Combine(directory, "model_" + Path.GetFileName(s)["state_".Length..]), State: s))
            .Where(p => File.Exists(p.Model))
            .OrderBy(p => p.State, StringComparer.Ordinal)
            .Select(p => ((string, string)?)p)
            .LastOrDefault();
    }

    /// <inheritdoc/>
    public void Dispose() => _adamw.Dispose();

    private bool Due(int every) => every > 0 && Step % every == 0;

    private StreamWriter OpenLog()
    {
        Directory.CreateDirectory(_o.OutputDirectory!);
        string path = Path.Combine(_o.OutputDirectory!, "main.log");
        var writer = new StreamWriter(path, append: Step > 0) { AutoFlush = true };
        return writer;
    }
}
