using System.Globalization;
using Gpt2.IO;
using Spectre.Console;

namespace Gpt2.Samples.Cli;

/// <summary>
/// What people look at on a terminal (Spectre.Console progress bars, the live training line, tables), and plain lines
/// when the output is a file, a pipe or a test's writer.
/// </summary>
internal static class Terminal
{
    /// <summary>Whether <paramref name="output"/> is the console and the console is an interactive terminal.</summary>
    public static bool IsInteractive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with progress bars on a terminal, or with <see cref="LineProgress"/> elsewhere.</summary>
    public static T WithProgress<T>(TextWriter output, Func<IProgress<ProgressReport>, T> work)
    {
        if (!IsInteractive(output))
        {
            return work(new LineProgress(output));
        }

        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var bars = new BarProgress(context);
                T result = work(bars);
                bars.Finish();
                return result;
            });
    }

    /// <summary>The amount a count has reached, for a bar's label: MiB for bytes, a number for anything else.</summary>
    public static string Amount(ProgressReport report) => report.Unit == "bytes"
        ? string.Create(CultureInfo.InvariantCulture, $"{report.Completed / 1048576.0:F1}{(report.Total is long t ? $"/{t / 1048576.0:F1}" : "")} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{report.Completed:N0}{(report.Total is long n ? $"/{n:N0}" : "")} {report.Unit}");

    /// <summary>One bar per counted item; plain lines are written above the bars.</summary>
    private sealed class BarProgress(ProgressContext context) : IProgress<ProgressReport>
    {
        private readonly Dictionary<string, ProgressTask> _tasks = [];

        public void Report(ProgressReport value)
        {
            if (!value.IsCount)
            {
                AnsiConsole.WriteLine(value.Text);
                return;
            }

            lock (_tasks)
            {
                string item = value.Item ?? value.Unit!;
                if (!_tasks.TryGetValue(item, out var task))
                {
                    _tasks[item] = task = context.AddTask(Markup.Escape(item), maxValue: Math.Max(value.Total ?? 1, 1));
                }

                task.IsIndeterminate = value.Total is null;
                if (value.Total is long total)
                {
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = value.Completed;
                }

                task.Description = Markup.Escape($"{item}  {Amount(value)}");
            }
        }

        /// <summary>Counts of unknown size end with the work: their bars are drawn full.</summary>
        public void Finish()
        {
            lock (_tasks)
            {
                foreach (var task in _tasks.Values)
                {
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            }
        }
    }
}
