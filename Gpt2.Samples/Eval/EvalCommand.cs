using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gpt2.Evaluation;
using Gpt2.Model;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Eval;

/// <summary><c>gpt2 eval hellaswag</c>: completion-style HellaSwag accuracy of a model, as llm.c's hellaswag.py scores it.</summary>
internal static class EvalCommand
{
    public const string DefaultInput = "data/hellaswag/hellaswag_val.bin";

    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model", "-e") { Description = "Model file, or pretrained GPT-2 (gpt2, gpt2-medium, gpt2-large, gpt2-xl).", Required = true };
        var input = new Option<string>("--input") { Description = "hellaswag_val.bin (llm.c's eval file) or a HellaSwag jsonl.", DefaultValueFactory = _ => DefaultInput };
        var backend = new Option<string>("--backend") { Description = "Compute backend.", DefaultValueFactory = _ => "cpu" };
        backend.AcceptOnlyFromAmong(Cli.Backends.Names);
        var limit = new Option<int>("--limit") { Description = "Score only the first N examples (0: all).", DefaultValueFactory = _ => 0 };
        var json = new Option<string?>("--json") { Description = "Write every example's losses and predictions to this JSON file." };
        var hellaswag = new Command("hellaswag", "HellaSwag accuracy: for each example, the loss of each ending given the context; acc by summed loss, acc_norm by mean loss.")
        {
            model, input, backend, limit, json,
        };
        hellaswag.SetAction(parse => CommandGuard.Run(error, "eval hellaswag", () =>
        {
            int n = Flags.NonNegative(parse.GetValue(limit), "--limit");
            string file = parse.GetValue(input)!;
            if (!File.Exists(file))
            {
                throw new UsageException($"--input: {file} not found; write it with: gpt2 prepare hellaswag");
            }

            var examples = HellaSwagFile.Load(file);
            if (n > 0)
            {
                examples = examples.Take(n).ToList();
            }

            string modelFile = HuggingFace.Hub.ResolveModel(parse.GetValue(model)!, error);
            using var be = Cli.Backends.Create(parse.GetValue(backend)!, threads: null);
            using var gpt = Gpt2Model.Load(modelFile, be);
            HellaSwagResult result;
            try
            {
                result = HellaSwagEvaluator.Evaluate(gpt, examples);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--model: {e.Message}");
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Examples} examples: acc {result.Accuracy:F4} ({result.Correct}), acc_norm {result.NormalizedAccuracy:F4} ({result.CorrectNormalized})"));
            if (parse.GetValue(json) is { } jsonPath)
            {
                IO.AtomicFile.Write(jsonPath, stream => JsonSerializer.Serialize(stream, new
                {
                    examples = result.Examples,
                    acc = result.Accuracy,
                    acc_norm = result.NormalizedAccuracy,
                    predictions = result.Predictions.Select(p => new
                    {
                        index = p.Index, label = p.Label, pred = p.Prediction, pred_norm = p.NormalizedPrediction,
                        sum_losses = p.SumLosses, mean_losses = p.MeanLosses,
                    }),
                }, new JsonSerializerOptions { WriteIndented = true }));
                output.WriteLine($"wrote {jsonPath}");
            }

            return ExitCodes.Success;
        }));
        return new Command("eval", "Evaluate a model.") { hellaswag };
    }
}
