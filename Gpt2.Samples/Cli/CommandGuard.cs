namespace Gpt2.Samples.Cli;

/// <summary>
/// Runs a command's body and turns bad input (flags, missing or malformed files, a combination this build does not run,
/// such as bf16 on a backend without it) into a message and exit code 2, and a failed download into a message and exit code 3.
/// </summary>
internal static class CommandGuard
{
    public static int Run(TextWriter error, string command, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is UnavailableException or Gpt2.IO.DownloadException)
        {
            error.WriteLine($"gpt2 {command}: {e.Message}");
            return ExitCodes.Unavailable;
        }
        catch (Exception e) when (e is UsageException or IOException or UnauthorizedAccessException or NotSupportedException and not PlatformNotSupportedException)
        {
            error.WriteLine($"gpt2 {command}: {e.Message}");
            return ExitCodes.BadInput;
        }
    }
}
