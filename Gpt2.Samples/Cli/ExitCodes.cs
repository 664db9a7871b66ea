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
}
