using Gpt2.Formats;

namespace Gpt2.Data;

/// <summary>
/// Reads (inputs, targets) batches of B x T tokens from llm.c token shards, in order, as llm.c's dataloader
/// without shuffling: each global batch holds world × B × T tokens (+1 for the last target); rank r takes the r-th
/// B × T slice of it. At the end of a shard it moves to the next, and after the last back to the first.
/// </summary>
/// <remarks>Not thread-safe: one reader at a time. It holds no open files between batches and needs no disposal.</remarks>
public sealed class DataLoader
{
    private readonly IReadOnlyList<string> _shards;
    private readonly int _vocabularySize;
    private ushort[] _tokens = [];
    private int _loadedShard = -1;
    private long _samplesInShard;

    /// <summary>Opens the shards matched by a pattern and checks that each holds at least one global batch.</summary>
    /// <param name="pattern">Shard file or pattern with wildcards in the file name.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="vocabularySize">V: every token must be below it.</param>
    /// <param name="rank">This process's index in data-parallel training.</param>
    /// <param name="worldSize">Number of processes.</param>
    /// <exception cref="FileNotFoundException">No shard matches.</exception>
    /// <exception cref="FileFormatException">A shard is malformed or too short for one batch.</exception>
    public DataLoader(string pattern, int batchSize, int sequenceLength, int vocabularySize, int rank = 0, int worldSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        Rank = rank;
        WorldSize = worldSize;
        _vocabularySize = vocabularySize;
        _shards = ShardGlob.Expand(pattern);
        long needed = GlobalBatchTokens + 1;
        long total = 0, batches = 0;
        foreach (string shard in _shards)
        {
            long count = TokenShard.ReadTokenCount(shard);
            if (count < needed)
            {
                throw new FileFormatException(shard,
                    $"holds {count} tokens, fewer than the {needed} that one batch of {worldSize} x B={batchSize} x T={sequenceLength} (+1) needs.");
            }

            total += count;
            batches += SamplesIn(count);
        }

        TokenCount = total;
        BatchesPerEpoch = batches;
        Inputs = new int[batchSize * sequenceLength];
        Targets = new int[batchSize * sequenceLength];
    }

    /// <summary>B.</summary>
    public int BatchSize { get; }

    /// <summary>T.</summary>
    public int SequenceLength { get; }

    /// <summary>This process's rank.</summary>
    public int Rank { get; }

    /// <summary>Number of processes sharing each global batch.</summary>
    public int WorldSize { get; }

    /// <summary>The shard files, in reading order.</summary>
    public IReadOnlyList<string> Shards => _shards;

    /// <summary>Tokens in all shards together.</summary>
    public long TokenCount { get; }

    /// <summary>(B,T) inputs of the last batch.</summary>
    public int[] Inputs { get; }

    /// <summary>(B,T) targets of the last batch: the inputs shifted by one token.</summary>
    public int[] Targets { get; }

    /// <summary>The position of the next batch.</summary>
    public DataLoaderPosition Position { get; private set; }

    /// <summary>Number of global batches one pass over all shards yields.</summary>
    public long BatchesPerEpoch { get; }

    private long GlobalBatchTokens => (long)WorldSize * BatchSize * SequenceLength;

    /// <summary>
    /// Reads every shard once and checks that every token is below V, so that bad data stops a run before its first
    /// step rather than when training reaches it. Vectorized; reads in 1M-token chunks, so memory stays flat.
    /// </summary>
    /// <exception cref="FileFormatException">A token is V or more; the message names the shard, the position and the token.</exception>
    public void ValidateTokens()
    {
        var chunk = new ushort[1 << 20];
        foreach (string shard in _shards)
        {
            using var stream = TokenShard.OpenAfterHeader(shard, out long count);
            for (long done = 0; done < count; done += chunk.Length)
            {
                var span = chunk.AsSpan(0, (int)Math.Min(chunk.Length, count - done));
                stream.ReadExactly(span, shard);
                int bad = span.IndexOfAnyInRange((ushort)Math.Min(_vocabularySize, ushort.MaxValue), ushort.MaxValue);
                if (bad >= 0 && span[bad] >= _vocabularySize)
                {
                    throw new FileFormatException(shard, $"token {done + bad} is {span[bad]}, outside the model's vocabulary of {_vocabularySize}.");
                }
            }
        }
    }

    /// <summary>Goes back to the first batch of the first shard.</summary>
    public void Reset() => Seek(new DataLoaderPosition(0, 0));

    /// <summary>Moves to a saved position.</summary>
    /// <param name="position">A position from <see cref="Position"/>.</param>
    public void Seek(DataLoaderPosition position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position.Shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position.Shard, _shards.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(position.Sample);
        Position = position;
    }

    /// <summary>Reads the next batch into <see cref="Inputs"/> and <see cref="Targets"/>.</summary>
    /// <exception cref="FileFormatException">A token is outside the vocabulary.</exception>
    public void NextBatch()
    {
        var position = Position;
        Load(position.Shard);
        if (position.Sample >= _samplesInShard)
        {
            position = new DataLoaderPosition((position.Shard + 1) % _shards.Count, 0);
            Load(position.Shard);
        }

        long start = position.Sample * GlobalBatchTokens + (long)Rank * BatchSize * SequenceLength;
        int n = Inputs.Length;
        for (int i = 0; i < n; i++)
        {
            Inputs[i] = _tokens[start + i];
            Targets[i] = _tokens[start + i + 1];
        }

        position = position with { Sample = position.Sample + 1 };
        if (position.Sample >= _samplesInShard)
        {
            position = new DataLoaderPosition((position.Shard + 1) % _shards.Count, 0);
        }

        Position = position;
    }

    private long SamplesIn(long tokens) => (tokens - 1) / GlobalBatchTokens;

    private void Load(int shard)
    {
        if (shard == _loadedShard)
        {
            return;
        }

        string path = _shards[shard];
        var tokens = TokenShard.Read(path);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] >= _vocabularySize)
            {
                throw new FileFormatException(path, $"token {tokens[i]} at index {i} is outside the vocabulary [0, {_vocabularySize}).");
            }
        }

        _tokens = tokens;
        _loadedShard = shard;
        _samplesInShard = SamplesIn(tokens.Length);
    }
}
