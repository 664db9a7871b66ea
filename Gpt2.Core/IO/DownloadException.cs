namespace Gpt2.IO;

/// <summary>A dataset download failed after its retries; the message names the URL and the last failure.</summary>
/// <remarks>Immutable once thrown: safe to read from any thread.</remarks>
public sealed class DownloadException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="url">The URL that could not be downloaded.</param>
    /// <param name="inner">The last failure.</param>
    public DownloadException(string url, Exception inner)
        : base($"Could not download {url}: {inner?.Message}", inner) => Url = url;

    /// <summary>The URL that could not be downloaded.</summary>
    public string Url { get; }
}
