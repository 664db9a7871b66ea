using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// Token-by-token generation with a key/value cache: each new token costs one position of compute (the cached keys
/// and values of earlier positions are reused), not a re-run of the sequence. Uses the model's parameters as they are.
/// </summary>
/// <remarks>Not thread-safe: one generation at a time. It owns its key/value cache (Dispose frees it), not the model.</remarks>
public sealed class InferenceSession : IDisposable
{
    private readonly Gpt2Model _model;
    private readonly ComputeBackend _be;
    private readonly TensorAllocator _allocator;
    private readonly DeviceTensor _qkvCache;   // (L, maxLength, 3C)
    private readonly DeviceTensor _token;      // (1,1) int32
    private readonly DeviceTensor _x;          // (1,1,C), the residual stream
    private readonly BlockActivations _block;  // one position's, shared by every block
    private readonly DeviceTensor _lnf, _lnfMean, _lnfRstd, _logits;
    private readonly float[] _hostLogits;
    private readonly int[] _hostToken = new int[1];

    /// <summary>Creates a session for sequences of up to <paramref name="maxLength"/> tokens.</summary>
    /// <param name="model">The model.</param>
    /// <param name="maxLength">Cache size in positions, at most maxT.</param>
    public InferenceSession(Gpt2Model model, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, model.Config.MaxSequenceLength);
        _model = model;
        _be = model.Backend;
        MaxLength = maxLength;
        var c = model.Config;
        int C = c.ChannelCount;
        var type = model.Layout.ElementType;
        _allocator = new TensorAllocator(_be);
        _qkvCache = _allocator.New([c.LayerCount, maxLength, 3 * C], type);
        _token = _allocator.New([1, 1], ElementType.Int32);
        _x = _allocator.New([1, 1, C], type);
        // the block's output overwrites its input: the stream stays in _x
        _block = BlockActivations.Create(_allocator.New, 1, 1, C, c.HeadCount, type) with { Residual3 = _x };
        _lnf = _allocator.New([1, 1, C], type);
        _lnfMean = _allocator.New([1, 1], ElementType.Float32);
        _lnfRstd = _allocator.New([1, 1], ElementType.Float32);
        _logits = _allocator.New([1, 1, c.PaddedVocabularySize], type);
        _hostLogits = new float[c.PaddedVocabularySize];
    }

    /// <summary>Positions the cache holds.</summary>
    public int MaxLength { get; }

    /// <summary>Tokens fed so far.</summary>
    public int Length { get; private set; }

    /// <summary>Forgets the sequence.</summary>
    public void Reset() => Length = 0;

    /// <summary>Feeds the next token and returns the logits for the token after it.</summary>
    /// <param name="token">A token id below V.</param>
    /// <returns>The V logits of the real vocabulary (valid until the next call).</returns>
    /// <exception cref="InvalidOperationException">The cache is full.</exception>
    public ReadOnlySpan<float> Next(int token)
    {
        var c = _model.Config;
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, c.VocabularySize);
        if (Length >= MaxLength)
        {
            throw new InvalidOperationException($"The session holds at most {MaxLength} tokens; call Reset.");
        }

        int pos = Length, heads = c.HeadCount;
        var p = _model.Parameters;
        _hostToken[0] = token;
        _be.Upload<int>(_hostToken, _token);
        _be.EncoderForward(_token, p.TokenEmbedding, p.PositionEmbedding.Slice(pos, 1), _x);
        for (int l = 0; l < c.LayerCount; l++)
        {
            // this position's qkv goes into the cache, and its query attends to every cached position
            var cache = _qkvCache[l];
            var block = _block with { Qkv = cache.Slice(pos, 1).Reshape(_block.Qkv.Shape) };
            TransformerBlock.Forward(_be, p, l, _x, block, a => _be.AttentionDecode(cache.Slice(0, pos + 1), a.Atty, heads));
        }

        _be.LayerNormForward(_x, p.LnfWeight, p.LnfBias, _lnf, _lnfMean, _lnfRstd);
        _be.MatmulForward(_lnf, p.TokenEmbedding, null, _logits);
        _be.DownloadSingles(_logits, _hostLogits);
        Length++;
        return _hostLogits.AsSpan(0, c.VocabularySize);
    }

    /// <inheritdoc/>
    public void Dispose() => _allocator.Dispose();
}
