namespace Gpt2.Formats;

/// <summary>A file is not a valid file of its kind (an llm.c format, safetensors, config.json): the message says what is wrong.</summary>
/// <remarks>Immutable once thrown: safe to read from any thread.</remarks>
public sealed class FileFormatException : IOException
{
    /// <summary>Creates the exception; the message is prefixed with the file's path.</summary>
    /// <param name="path">The offending file.</param>
    /// <param name="problem">What is wrong with it.</param>
    public FileFormatException(string path, string problem)
        : base($"{path}: {problem}")
    {
        FilePath = path;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }
}
