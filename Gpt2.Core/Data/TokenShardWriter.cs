using Gpt2.Formats;

namespace Gpt2.Data;

/// <summary>
/// Cuts a stream of tokens into llm.c token shards as llm.c's data scripts do: the first shard holds
/// <c>firstShardTokens</c>, every later one <c>shardTokens</c>, and a document that crosses a boundary is split across
/// the two shards. Holds one shard in memory, so a corpus of any size streams through.
/// </summary>
internal sealed class TokenShardWriter(Func<int, string> pathOf, int firstShardTokens, int shardTokens, int? maxShards = null)
{
    private readonly ushort[] _buffer = new ushort[Math.Max(firstShardTokens, shardTokens)];
    private readonly List<string> _written = [];
    private int _count;

    /// <summary>The shards written so far, in order.</summary>
    public IReadOnlyList<string> Written => _written;

    /// <summary>Tokens taken in all.</summary>
    public long Tokens { get; private set; }

    /// <summary>True once <c>maxShards</c> shards are written; later tokens are ignored.</summary>
    public bool IsFull => maxShards is int max && _written.Count >= max;

    private int Capacity => _written.Count == 0 ? firstShardTokens : shardTokens;

    /// <summary>Appends tokens, writing every shard they fill.</summary>
    public void Append(ReadOnlySpan<ushort> tokens)
    {
        while (!tokens.IsEmpty && !IsFull)
        {
            int n = Math.Min(tokens.Length, Capacity - _count);
            tokens[..n].CopyTo(_buffer.AsSpan(_count));
            _count += n;
            Tokens += n;
            tokens = tokens[n..];
            if (_count == Capacity)
            {
                Flush();
            }
        }
    }

    /// <summary>Writes the last, partial shard.</summary>
    public void Finish()
    {
        if (_count > 0 && !IsFull)
        {
            Flush();
        }
    }

    /// <summary>Deletes every shard written (after a failure).</summary>
    public void DeleteWritten()
    {
        foreach (string path in _written)
        {
            File.Delete(path);
        }
    }

    private void Flush()
    {
        string path = pathOf(_written.Count);
        TokenShard.Write(path, _buffer.AsSpan(0, _count));
        _written.Add(path);
        _count = 0;
    }
}
