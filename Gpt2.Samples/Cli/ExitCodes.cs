namespace Gpt2.Samples.Cli;

/// <summary>Process exit codes of the <c>gpt2</c> command.</summary>
internal static class ExitCodes
{
    /// <summary>Success; for verify, every check within tolerance.</summary>
    public const int Success = 0;

    /// <summary>The command ran but a check failed.</summary>
    public const int CheckFailed = 1;

    /// <summary>Bad input: unknown or invalid flags, missing or malformed files.</summary>
    public const int BadInput = 2;

    /// <summary>A download failed (no network, or the server sent something else than it announced).</summary>
    public const int Unavailable = 3;

    /// <summary>Training stopped because a loss, gradient norm or parameter was not finite; the last good checkpoint is kept.</summary>
    public const int Diverged = 4;

    /// <summary>
    /// Training stopped early on Ctrl+C or SIGTERM after finishing its step; with -o a checkpoint was written and
    /// <c>-y 1</c> resumes it (75 is sysexits' "temporary failure, try again").
    /// </summary>
    public const int Interrupted = 75;

    /// <summary>The exit codes, for <c>--help</c>.</summary>
    public const string Description = "Exit codes: 0 done; 1 a check failed; 2 bad input (flags, files), nothing written; 3 a download failed; " +
        "4 training diverged (NaN/inf), last good checkpoint kept; 75 interrupted (Ctrl+C, SIGTERM), checkpoint written, resume with -y 1.";
}
