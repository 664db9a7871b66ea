using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Gpt2.Backends;
using Gpt2.Backends.Ilgpu;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Bench;

/// <summary><c>gpt2 bench</c>: times whole training steps (forward, zero grad, backward, AdamW) on random tokens.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model", "-e") { Description = "Model file, or descriptor d12/d24/d36/d48/gpt3:cN (random init, seed 42).", DefaultValueFactory = _ => "d12" };
        var batch = new Option<int>("--batch", "-b") { Description = "Batch size B.", DefaultValueFactory = _ => 4 };
        var seq = new Option<int>("--seq", "-t") { Description = "Sequence length T.", DefaultValueFactory = _ => 64 };
        var backend = new Option<string>("--backend") { Description = "Compute backend.", DefaultValueFactory = _ => "cpu" };
        backend.AcceptOnlyFromAmong(Cli.Backends.Names);
        var matmul = new Option<string>("--matmul") { Description = Cli.Backends.MatmulDescription, DefaultValueFactory = _ => "auto" };
        matmul.AcceptOnlyFromAmong(Cli.Backends.MatmulNames);
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)." };
        var steps = new Option<int>("--steps") { Description = "Timed steps.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first (kernel compilation, first allocations).", DefaultValueFactory = _ => 2 };
        var attention = Cli.Backends.AttentionOption();
        var precision = Cli.Backends.PrecisionOption();
        var profile = new Option<bool>("--profile") { Description = "Also time each op (synchronizing around every op) and print a table." };
        var command = new Command("bench", "Time training steps: median ms/step, tokens/s and model FLOP/s.")
        {
            model, batch, seq, backend, matmul, attention, precision, threads, steps, warmup, profile,
        };

        command.SetAction(parse => CommandGuard.Run(error, "bench", () =>
        {
            int b = Flags.Positive(parse.GetValue(batch), "--batch"), t = Flags.Positive(parse.GetValue(seq), "--seq");
            int n = Flags.Positive(parse.GetValue(steps), "--steps");
            int w = Flags.NonNegative(parse.GetValue(warmup), "--warmup");
            int? th = Flags.Threads(parse.GetValue(threads));

            return Run(output, parse.GetValue(model)!, b, t, parse.GetValue(backend)!, parse.GetValue(matmul)!, parse.GetValue(attention)!, parse.GetValue(precision)!, th, n, w, parse.GetValue(profile));
        }));
        return command;
    }


    private static int Run(TextWriter output, string modelArg, int b, int t, string backendName, string matmul, string attention, string precision, int? threads, int steps, int warmup, bool profile)
    {
        var source = ModelSource.Resolve(modelArg, t, output);
        var config = source.Config;

        using var be = Cli.Backends.Create(backendName, threads, matmul);
        var profiled = profile ? new OpProfile() : null;
        be.Observer = profiled;
        using var gpt = source.Create(be, 42, Cli.Backends.Precision(be, precision));
        Cli.Backends.SetAttention(gpt, attention);
        using var adamw = new AdamW(gpt, new AdamWOptions { WeightDecay = 0.1f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f });
        var rng = new Random(1337);
        int[] inputs = Enumerable.Range(0, b * t).Select(_ => rng.Next(config.VocabularySize)).ToArray();
        int[] targets = Enumerable.Range(0, b * t).Select(_ => rng.Next(config.VocabularySize)).ToArray();
        double flopsPerStep = config.TrainingFlopsPerToken(t) * b * t;
        var activations = Gpt2Model.MeasureActivations(config, b, t, gpt.Attention, gpt.Layout.ElementType);
        output.WriteLine($"bench: {modelArg} ({gpt.Layout.Count:N0} parameters), B={b} T={t}, {Cli.Backends.Describe(be)}, {attention} attention, {precision}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"activations {activations.ActivationBytes / (1024.0 * 1024):F1} MiB, activation gradients {activations.GradientBytes / (1024.0 * 1024):F1} MiB"));

        var times = new List<double>();
        for (int step = 0; step < warmup + steps; step++)
        {
            if (step == warmup)
            {
                profiled?.Reset();
            }

            var clock = Stopwatch.StartNew();
            float loss = gpt.Forward(inputs, targets, b, t);
            gpt.ZeroGrad();
            gpt.Backward();
            float norm = adamw.Step(1e-4f);
            be.Synchronize();
            double ms = clock.Elapsed.TotalMilliseconds;
            bool timed = step >= warmup;
            if (timed)
            {
                times.Add(ms);
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {step}{(timed ? "" : " (warmup)")}: loss {loss:F4}, grad norm {norm:F3}, {ms:F1} ms"));
        }

        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        string memory = be is IlgpuBackend { IsCuda: true } g && g.DeviceMemoryUsed() is long used
            ? string.Create(CultureInfo.InvariantCulture, $", device memory in use {used / (1024.0 * 1024 * 1024):F2} GiB")
            : string.Create(CultureInfo.InvariantCulture, $", process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median {median:F1} ms/step (min {times[0]:F1}, max {times[^1]:F1}, {times.Count} steps), {b * t / (median / 1000):F0} tokens/s, " +
            $"{flopsPerStep / (median / 1000) / 1e12:F2} model TFLOP/s, {Mfu(be, flopsPerStep / (median / 1000))}{memory}"));
        if (profiled is not null)
        {
            double total = profiled.Times.Values.Sum(v => v.Ms);
            output.WriteLine($"per op over {steps} steps (synchronized around each op; total {total / steps:F1} ms/step):");
            foreach (var (op, (calls, ms)) in profiled.Times.OrderByDescending(kv => kv.Value.Ms))
            {
                string rate = profiled.Flops.TryGetValue(op, out double flops) ? string.Create(CultureInfo.InvariantCulture, $" {flops / (ms / 1000) / 1e9,8:F1} GFLOP/s") : "";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-28} {calls / steps,5} calls/step {ms / steps,9:F2} ms/step {100 * ms / total,5:F1}%{rate}"));
            }

            double known = profiled.Flops.Values.Sum(), knownMs = profiled.Flops.Keys.Sum(op => profiled.Times[op].Ms);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  matmuls and attention: {known / steps / 1e9:F1} GFLOP/step in {knownMs / steps:F1} ms, {known / (knownMs / 1000) / 1e9:F1} GFLOP/s; " +
                $"the whole step {known / (total / 1000) / 1e9:F1} GFLOP/s"));
        }

        return ExitCodes.Success;
    }

    /// <summary>MFU against the backend's peak, or why there is none.</summary>
    internal static string Mfu(ComputeBackend backend, double flopsPerSecond) => backend.PeakFlops is double peak
        ? string.Create(CultureInfo.InvariantCulture, $"MFU {100 * flopsPerSecond / peak:F1}% of {peak / 1e12:F1} TFLOP/s ({backend.PeakFlopsSource})")
        : $"MFU unknown (no peak FLOP/s known for {backend.Name})";
}
