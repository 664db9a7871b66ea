namespace Gpt2.Data;

/// <summary>Expands a shard pattern such as <c>data/fineweb_train_*.bin</c>: wildcards in the file name only, sorted ordinally.</summary>
public static class ShardGlob
{
    /// <summary>Expands a pattern into the files it names.</summary>
    /// <param name="pattern">A path whose file name may contain <c>*</c> and <c>?</c>.</param>
    /// <returns>The matching files in ordinal order.</returns>
    /// <exception cref="FileNotFoundException">Nothing matches.</exception>
    public static IReadOnlyList<string> Expand(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        string directory = Path.GetDirectoryName(pattern) is { Length: > 0 } d ? d : ".";
        string name = Path.GetFileName(pattern);
        if (directory.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            throw new ArgumentException($"Wildcards are only supported in the file name: {pattern}", nameof(pattern));
        }

        string[] files;
        if (name.AsSpan().IndexOfAny('*', '?') < 0)
        {
            files = File.Exists(pattern) ? [pattern] : [];
        }
        else
        {
            files = Directory.Exists(directory)
                ? Directory.GetFiles(directory, name).Select(f => Path.Combine(directory, Path.GetFileName(f))).ToArray()
                : [];
            Array.Sort(files, StringComparer.Ordinal);
        }

        if (files.Length == 0)
        {
            throw new FileNotFoundException($"No token shard matches: {pattern}", pattern);
        }

        return files;
    }
}
