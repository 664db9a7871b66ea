using System.Diagnostics.Metrics;

namespace Gpt2.Training;

/// <summary>
/// The trainer's <see cref="System.Diagnostics.Metrics"/> instruments, on the meter <see cref="MeterName"/>, so that
/// OpenTelemetry, dotnet-counters (<c>dotnet-counters monitor --counters Gpt2.Training -p PID</c>) or a
/// <see cref="MeterListener"/> show a run live. Recorded on rank 0 only, after each step and evaluation.
/// </summary>
public static class TrainingMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Gpt2.Training";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Steps = Meter.CreateCounter<long>("gpt2.training.steps", "{step}", "Optimizer steps completed.");
    internal static readonly Counter<long> Tokens = Meter.CreateCounter<long>("gpt2.training.tokens", "{token}", "Training tokens processed, by every process together.");
    internal static readonly Histogram<double> Loss = Meter.CreateHistogram<double>("gpt2.training.loss", "nats", "Training loss of each step.");
    internal static readonly Histogram<double> ValidationLoss = Meter.CreateHistogram<double>("gpt2.training.validation_loss", "nats", "Validation loss of each evaluation.");
    internal static readonly Histogram<double> GradientNorm = Meter.CreateHistogram<double>("gpt2.training.gradient_norm", null, "Global gradient norm before clipping.");
    internal static readonly Histogram<double> LearningRate = Meter.CreateHistogram<double>("gpt2.training.learning_rate", null, "Learning rate of each step.");
    internal static readonly Histogram<double> StepTime = Meter.CreateHistogram<double>("gpt2.training.step_time", "ms", "Wall time of each step.");
    internal static readonly Histogram<double> TokensPerSecond = Meter.CreateHistogram<double>("gpt2.training.tokens_per_second", "{token}/s", "Throughput of each step.");
    internal static readonly Histogram<double> ModelFlopUtilization = Meter.CreateHistogram<double>("gpt2.training.mfu", null, "Model FLOPs per second over the devices' peak, where the peak is known.");
    internal static readonly Histogram<double> HellaSwagAccuracy = Meter.CreateHistogram<double>("gpt2.training.hellaswag_acc_norm", null, "HellaSwag acc_norm of each evaluation.");
}
