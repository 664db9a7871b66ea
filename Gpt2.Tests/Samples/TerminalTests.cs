using Gpt2.IO;
using Gpt2.Samples.Cli;
using Gpt2.Samples.Train;
using Gpt2.Training;
using Spectre.Console;

namespace Gpt2.Tests.Samples;

public sealed class TerminalTests
{
    [Test]
    public void LinesThinACountToOnePer5PercentAndKeepEveryPlainLine()
    {
        var writer = new StringWriter();
        var progress = new LineProgress(writer);
        progress.Report("downloading https://example.org/a.bin");
        for (long done = 0; done <= 1000; done += 10)
        {
            progress.Report(new ProgressReport($"a {done}", "a.bin", done, 1000, "bytes"));
            progress.Report(new ProgressReport($"b {done}", "b.bin", done / 2, 500, "bytes")); // interleaved: counted apart
        }

        progress.Report(new ProgressReport("  12 tokens", "tokenizing", 12, null, "tokens"));
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.That(lines[0], Is.EqualTo("downloading https://example.org/a.bin"));
        Assert.That(lines.Where(l => l.StartsWith("a ", StringComparison.Ordinal)), Is.EqualTo(Enumerable.Range(0, 21).Select(i => $"a {i * 50}")),
            "0%, 5%, … 100%: the first of each twentieth, and the end");
        Assert.That(lines.Count(l => l.StartsWith("b ", StringComparison.Ordinal)), Is.EqualTo(21));
        Assert.That(lines[^1], Is.EqualTo("  12 tokens"), "a count of unknown size is written each time");
    }

    [TestCase(1_572_864L, 10_485_760L, "bytes", "1.5/10.0 MiB")]
    [TestCase(1_572_864L, null, "bytes", "1.5 MiB")]
    [TestCase(1_234_567L, null, "tokens", "1,234,567 tokens")]
    public void BarsLabelBytesInMiBAndOtherUnitsAsNumbers(long done, long? total, string unit, string label) =>
        Assert.That(Terminal.Amount(new ProgressReport("", "x", done, total, unit)), Is.EqualTo(label));

    [Test]
    public void TheSummaryTableHoldsTheRunsFigures()
    {
        var results = new RunSummary();
        var summary = new TrainingSummary(Step: 10, StepsRun: 6, TokensProcessed: 6 * 256, FinalLoss: 4.25f, FinalValidationLoss: null, Cancelled: true,
            Checkpoint: "out/model_00000010.bin", Elapsed: TimeSpan.FromSeconds(3725));
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(text), Interactive = InteractionSupport.No,
        });
        var rows = results.Rows(summary with { FinalLoss = null });
        Assert.That(rows.Select(r => r.Name), Is.EqualTo(new[] { "steps", "tokens", "train loss", "val loss", "time", "checkpoint" }));
        Assert.That(rows.Select(r => r.Value), Is.EqualTo(new[] { "6 run, 10 in all (interrupted)", "1,536", "no step taken", "not evaluated", "1:02:05", "out/model_00000010.bin" }));
        console.Write(results.Table(summary with { FinalLoss = null }));
        Assert.That(text.ToString(), Does.Contain("6 run, 10 in all (interrupted)").And.Contain("1:02:05").And.Contain("out/model_00000010.bin"));
    }
}
