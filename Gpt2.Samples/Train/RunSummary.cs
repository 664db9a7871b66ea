using System.Globalization;
using Gpt2.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Gpt2.Samples.Train;

/// <summary>
/// What a run did, for its last lines: steps, tokens, the best and final losses (and the steps they came at), time,
/// tokens/s and the checkpoint; a table on a terminal, one line elsewhere.
/// </summary>
internal sealed class RunSummary
{
    private (int Step, float Loss)? _bestTrain;
    private (int Step, float Loss)? _bestValidation;
    private readonly List<double> _tokensPerSecond = [];

    public void Attach(Trainer trainer)
    {
        trainer.StepCompleted += (_, r) =>
        {
            if (float.IsFinite(r.Loss) && (_bestTrain is not { } b || r.Loss < b.Loss))
            {
                _bestTrain = (r.Step + 1, r.Loss);
            }

            _tokensPerSecond.Add(r.TokensPerSecond);
        };
        trainer.Validated += (_, r) =>
        {
            if (float.IsFinite(r.Loss) && (_bestValidation is not { } b || r.Loss < b.Loss))
            {
                _bestValidation = (r.Step, r.Loss);
            }
        };
    }

    /// <summary>The rows: a name and a value each.</summary>
    public IReadOnlyList<(string Name, string Value)> Rows(TrainingSummary summary)
    {
        var rows = new List<(string, string)>
        {
            ("steps", Invariant($"{summary.StepsRun:N0} run, {summary.Step:N0} in all{(summary.Cancelled ? " (interrupted)" : "")}")),
            ("tokens", Invariant($"{summary.TokensProcessed:N0}")),
            ("train loss", summary.FinalLoss is float f ? Invariant($"{f:F4} final") + Best(_bestTrain) : "no step taken"),
            ("val loss", summary.FinalValidationLoss is float v ? Invariant($"{v:F4} final") + Best(_bestValidation) : "not evaluated"),
            ("time", Invariant($"{(int)summary.Elapsed.TotalHours}:{summary.Elapsed:mm\\:ss}") +
                (_tokensPerSecond.Count > 0 ? Invariant($", median {Median(_tokensPerSecond):N0} tokens/s") : "")),
            ("checkpoint", summary.Checkpoint ?? "none"),
        };
        return rows;
    }

    public IRenderable Table(TrainingSummary summary)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("run").AddColumn("");
        foreach (var (name, value) in Rows(summary))
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(value));
        }

        return table;
    }

    public string Line(TrainingSummary summary) => "summary: " + string.Join("; ", Rows(summary).Select(r => $"{r.Name} {r.Value}"));

    private static string Best((int Step, float Loss)? best) => best is { } b ? Invariant($", {b.Loss:F4} best (step {b.Step})") : "";

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
