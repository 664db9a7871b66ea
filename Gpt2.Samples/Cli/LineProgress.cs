namespace Gpt2.Samples.Cli;

/// <summary>Writes each progress line at once, on the reporting thread (Progress&lt;T&gt; would post them out of order).</summary>
internal sealed class LineProgress(TextWriter output) : IProgress<string>
{
    public void Report(string value) => output.WriteLine(value);
}
