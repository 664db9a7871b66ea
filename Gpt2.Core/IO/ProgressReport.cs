namespace Gpt2.IO;

/// <summary>
/// What a download or a data preparation is doing: a line of text for people reading a log, and for a count of bytes
/// or tokens the amounts, for progress bars. <see cref="ToString"/> is the text, so
/// <c>new Progress&lt;ProgressReport&gt;(Console.WriteLine)</c> prints the lines.
/// </summary>
/// <param name="Text">The line: a step begun ("downloading URL") or the state of a count (a bar, MiB, rate, ETA).</param>
/// <param name="Item">What is counted (a file name), or null for a plain line.</param>
/// <param name="Completed">Units done so far.</param>
/// <param name="Total">Units in all, or null when not known up front.</param>
/// <param name="Unit">The unit counted (<c>bytes</c>, <c>tokens</c>), or null for a plain line.</param>
/// <remarks>
/// Counts are reported often (every 1% of a download, every row group of a parquet file); a consumer that writes
/// lines thins them out as it likes. An immutable value: safe to share between threads.
/// </remarks>
public readonly record struct ProgressReport(string Text, string? Item = null, long Completed = 0, long? Total = null, string? Unit = null)
{
    /// <summary>Whether this report counts something (<see cref="Unit"/> is set), as opposed to a plain line.</summary>
    public bool IsCount => Unit is not null;

    /// <summary>A plain line of text.</summary>
    /// <param name="text">The line.</param>
    public static implicit operator ProgressReport(string text) => FromText(text);

    /// <summary>A plain line of text.</summary>
    /// <param name="text">The line.</param>
    /// <returns>The report.</returns>
    public static ProgressReport FromText(string text) => new(text);

    /// <summary>The line of text.</summary>
    /// <returns><see cref="Text"/>.</returns>
    public override string ToString() => Text;
}
