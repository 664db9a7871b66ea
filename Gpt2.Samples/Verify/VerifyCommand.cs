using System.CommandLine;
using System.Globalization;
using Gpt2.Backends;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Verify;

/// <summary><c>gpt2 verify</c>: checks a backend against a reference debug state, as llm.c's test_gpt2.</summary>
internal static class VerifyCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "llm.c model file (version 3 fp32 or 5 bf16).", Required = true };
        var state = new Option<string>("--state") { Description = "llm.c debug state (magic 20240327, version 2) for that model.", Required = true };
        var backend = new Option<string>("--backend") { Description = "Compute backend.", DefaultValueFactory = _ => "cpu" };
        backend.AcceptOnlyFromAmong(Cli.Backends.Names);
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)." };
        var matmul = new Option<string>("--matmul") { Description = Cli.Backends.MatmulDescription, DefaultValueFactory = _ => "kernel" };
        matmul.AcceptOnlyFromAmong(Cli.Backends.MatmulNames);
        var attention = Cli.Backends.AttentionOption();
        var precision = Cli.Backends.PrecisionOption();
        var steps = new Option<int>("--steps") { Description = "Training steps on the state's batch after the check.", DefaultValueFactory = _ => 10 };
        var expectedLosses = new Option<string?>("--expected-losses") { Description = "Reference losses ('step i: loss x' lines) to compare each step with." };
        var expectedModel = new Option<string?>("--expected-model") { Description = "Reference parameters after the steps (model file) to compare with." };
        var dumpState = new Option<string?>("--dump-state") { Description = "Write our step-0 logits, loss and gradients as a debug state." };
        var dumpLosses = new Option<string?>("--dump-losses") { Description = "Write our loss of each step as 'step i: loss x' lines." };
        var dumpModel = new Option<string?>("--dump-model") { Description = "Write our parameters after the last step as a version 3 model file." };
        var command = new Command("verify", "Compare logits, loss and every gradient with a reference debug state, then train on its batch.")
        {
            model, state, backend, threads, matmul, attention, precision, steps, expectedLosses, expectedModel, dumpState, dumpLosses, dumpModel,
        };

        command.SetAction(parse => CommandGuard.Run(error, "verify", () =>
        {
            int n = parse.GetValue(steps);
            if (n < 0)
            {
                throw new UsageException($"--steps: must be 0 or more, got {n}.");
            }

            int? t = parse.GetValue(threads);
            if (t is <= 0)
            {
                throw new UsageException($"--threads: must be positive, got {t}.");
            }

            return Run(output, parse.GetValue(model)!, parse.GetValue(state)!, parse.GetValue(backend)!, parse.GetValue(matmul)!, parse.GetValue(attention)!, parse.GetValue(precision)!, t, n,
                parse.GetValue(expectedLosses), parse.GetValue(expectedModel),
                parse.GetValue(dumpState), parse.GetValue(dumpLosses), parse.GetValue(dumpModel));
        }));
        return command;
    }

    private static int Run(TextWriter output, string modelPath, string statePath, string backendName, string matmul, string attention, string precisionName, int? threads, int steps,
        string? expectedLossesPath, string? expectedModelPath, string? dumpStatePath, string? dumpLossesPath, string? dumpModelPath)
    {
        // read and check every input before any work, so bad input never costs a run
        var (config, format) = ModelFile.ReadHeader(modelPath);
        var state = DebugState.Read(statePath, config);
        double[]? expectedLosses = expectedLossesPath is null ? null : Verifier.ReadLosses(expectedLossesPath);
        float[]? expectedParameters = null;
        if (expectedModelPath is not null)
        {
            var (expectedConfig, _, parameters) = ModelFile.Read(expectedModelPath);
            if (expectedConfig != config)
            {
                throw new FileFormatException(expectedModelPath, $"its shape {expectedConfig} differs from the model's {config}.");
            }

            expectedParameters = parameters;
        }

        using var be = Cli.Backends.Create(backendName, threads, matmul);
        var precision = Cli.Backends.Precision(be, precisionName);
        using var gpt = Gpt2Model.Load(modelPath, be, precision);
        Cli.Backends.SetAttention(gpt, attention);
        var verifier = new Verifier(precision == ElementType.BFloat16 ? Tolerances.BFloat16 : new Tolerances());
        output.WriteLine($"model {modelPath}: v{(int)format}, L={config.LayerCount} NH={config.HeadCount} C={config.ChannelCount} " +
            $"V={config.VocabularySize} Vp={config.PaddedVocabularySize} maxT={config.MaxSequenceLength}, {gpt.Layout.Count:N0} parameters");
        output.WriteLine($"state {statePath}: B={state.BatchSize} T={state.SequenceLength}; backend {Cli.Backends.Describe(be)}, {attention} attention, {precisionName}");

        var checks = verifier.CheckStep0(gpt, state, out float loss, out float[] logits, out float[] gradients);
        if (dumpStatePath is not null)
        {
            new DebugState(config, state.BatchSize, state.SequenceLength, state.Inputs, state.Targets, logits, loss, gradients).Write(dumpStatePath);
        }

        float[]? initialParameters = null;
        if (expectedParameters is not null)
        {
            initialParameters = new float[gpt.Layout.Count];
            gpt.GetParameters(initialParameters); // the update each tensor's error is measured against starts here
        }

        var losses = Verifier.Train(gpt, state, steps, out float[] finalParameters);
        if (expectedLosses is not null)
        {
            checks.AddRange(verifier.CheckLosses(losses, expectedLosses));
        }
        else
        {
            for (int i = 0; i < losses.Length; i++)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {i}: loss {losses[i]:F6}"));
            }
        }

        if (expectedParameters is not null)
        {
            var referenceInitial = precision == ElementType.Float32 ? initialParameters! : ModelFile.Read(modelPath).Parameters;
            checks.AddRange(verifier.CheckParameters(gpt, finalParameters, initialParameters!, expectedParameters, referenceInitial));
        }

        if (dumpLossesPath is not null)
        {
            Verifier.WriteLosses(dumpLossesPath, losses);
        }

        if (dumpModelPath is not null)
        {
            gpt.Save(dumpModelPath, ModelFileFormat.Float32);
        }

        Report(output, checks);
        bool ok = checks.All(c => c.Ok);
        output.WriteLine(ok ? "overall: OK" : "overall: FAIL");
        return ok ? ExitCodes.Success : ExitCodes.CheckFailed;
    }

    private static void Report(TextWriter output, List<Comparison> checks)
    {
        output.WriteLine($"{"check",-22} {"max abs err",12} {"err/max|ref|",12} {"max|ref|",12}  result");
        foreach (var c in checks)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{c.Name,-22} {c.MaxAbsError,12:E2} {c.RelativeToMax,12:E2} {c.ReferenceMax,12:E2}  {(c.Ok ? "OK" : "FAIL")} {c.Note}"));
        }
    }
}
