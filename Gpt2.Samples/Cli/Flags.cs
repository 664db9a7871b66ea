namespace Gpt2.Samples.Cli;

/// <summary>Range checks of numeric flags, with messages that name the flag.</summary>
internal static class Flags
{
    public static int Positive(int value, string flag) =>
        value > 0 ? value : throw new UsageException($"{flag}: must be positive, got {value}.");

    public static int NonNegative(int value, string flag) =>
        value >= 0 ? value : throw new UsageException($"{flag}: must be 0 or more, got {value}.");

    public static int ZeroOrOne(int value, string flag) =>
        value is 0 or 1 ? value : throw new UsageException($"{flag}: must be 0 or 1, got {value}.");

    public static int? Threads(int? value) =>
        value is <= 0 ? throw new UsageException($"--threads: must be positive, got {value}.") : value;
}
