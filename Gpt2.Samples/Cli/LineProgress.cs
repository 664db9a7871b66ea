using Gpt2.IO;

namespace Gpt2.Samples.Cli;

/// <summary>
/// Writes progress as lines, at once, on the reporting thread (Progress&lt;T&gt; would post them out of order): every
/// plain line, and of a count of known size one line per 5% (the first and the last always), so a log gets about 20
/// lines per download rather than 100.
/// </summary>
internal sealed class LineProgress(TextWriter output) : IProgress<ProgressReport>
{
    private readonly Dictionary<string, long> _lastTwentieth = [];

    public void Report(ProgressReport value)
    {
        if (value.IsCount && value.Total is long total and > 0 && value.Completed < total)
        {
            long twentieth = value.Completed * 20 / total;
            string item = value.Item ?? "";
            if (_lastTwentieth.TryGetValue(item, out long last) && last == twentieth)
            {
                return;
            }

            _lastTwentieth[item] = twentieth;
        }

        output.WriteLine(value.Text);
    }
}
