namespace Gpt2.Samples.Cli;

/// <summary>Something the command needs could not be fetched (network, server); exit code 3, with what to do instead.</summary>
internal sealed class UnavailableException(string message) : Exception(message);
