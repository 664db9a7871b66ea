namespace Gpt2.Data;

/// <summary>Where a <see cref="DataLoader"/> will read its next batch; saved in checkpoints to resume exactly.</summary>
/// <param name="Shard">Index of the current shard.</param>
/// <param name="Sample">Index of the next global batch within the shard.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct DataLoaderPosition(int Shard, long Sample);
