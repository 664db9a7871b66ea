using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// Token-by-token generation with a key/value cache: each new token costs one position of compute (the cached keys
/// and values of earlier positions are reused), not a re-run of the sequence. Uses the model's parameters as they are.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly Gpt2Model _model;
    private readonly IComputeBackend _be;
    private readonly DeviceBuffer<float> _qkvCache; // (L, maxLength, 3C)
    private readonly DeviceBuffer<float> _x, _x2, _ln, _atty, _attProj, _fch, _gelu, _fcProj, _stats, _logits;
    private readonly DeviceBuffer<int> _token;
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
        _qkvCache = _be.Allocate<float>((long)c.LayerCount * maxLength * 3 * C);
        _x = _be.Allocate<float>(C);
        _x2 = _be.Allocate<float>(C);
        _ln = _be.Allocate<float>(C);
        _atty = _be.Allocate<float>(C);
        _attProj = _be.Allocate<float>(C);
        _fch = _be.Allocate<float>(4 * C);
        _gelu = _be.Allocate<float>(4 * C);
        _fcProj = _be.Allocate<float>(C);
        _stats = _be.Allocate<float>(2);
        _logits = _be.Allocate<float>(c.PaddedVocabularySize);
        _token = _be.Allocate<int>(1);
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

        int C = c.ChannelCount, pos = Length;
        var p = _model.Parameters;
        _hostToken[0] = token;
        _be.Upload<int>(_hostToken, _token.View);
        _be.EncoderForward(_token.View, p.TokenEmbedding, p.PositionEmbedding.Slice((long)pos * C, C), _x.View, 1, 1, C);
        var mean = _stats.Slice(0, 1);
        var rstd = _stats.Slice(1, 1);
        for (int l = 0; l < c.LayerCount; l++)
        {
            var w = p.Layer(l);
            var cache = _qkvCache.Slice((long)l * MaxLength * 3 * C, (long)MaxLength * 3 * C);
            _be.LayerNormForward(_x.View, w.Ln1Weight, w.Ln1Bias, _ln.View, mean, rstd, 1, C);
            _be.MatmulForward(_ln.View, w.QkvWeight, w.QkvBias, cache.Slice((long)pos * 3 * C, 3 * C), 1, C, 3 * C);
            _be.AttentionDecode(cache.Slice(0, (pos + 1L) * 3 * C), _atty.View, pos, C, c.HeadCount);
            _be.MatmulForward(_atty.View, w.AttentionProjectionWeight, w.AttentionProjectionBias, _attProj.View, 1, C, C);
            _be.ResidualForward(_x.View, _attProj.View, _x2.View, C);
            _be.LayerNormForward(_x2.View, w.Ln2Weight, w.Ln2Bias, _ln.View, mean, rstd, 1, C);
            _be.MatmulForward(_ln.View, w.FcWeight, w.FcBias, _fch.View, 1, C, 4 * C);
            _be.GeluForward(_fch.View, _gelu.View, 4 * C);
            _be.MatmulForward(_gelu.View, w.FcProjectionWeight, w.FcProjectionBias, _fcProj.View, 1, 4 * C, C);
            _be.ResidualForward(_x2.View, _fcProj.View, _x.View, C);
        }

        _be.LayerNormForward(_x.View, p.LnfWeight, p.LnfBias, _ln.View, mean, rstd, 1, C);
        _be.MatmulForward(_ln.View, p.TokenEmbedding, null, _logits.View, 1, C, c.PaddedVocabularySize);
        _be.Download(_logits.View, _hostLogits);
        Length++;
        return _hostLogits.AsSpan(0, c.VocabularySize);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var b in new IDisposable[] { _qkvCache, _x, _x2, _ln, _atty, _attProj, _fch, _gelu, _fcProj, _stats, _logits, _token })
        {
            b.Dispose();
        }
    }
}
