namespace Gpt2.Samples.Cli;

/// <summary>A flag has a value the command cannot use; the message names the flag.</summary>
internal sealed class UsageException(string message) : Exception(message);
