using Gpt2.Backends;

namespace Gpt2.Model;

public sealed partial class Gpt2Model
{
    private bool _hasTargets;
    private bool _hasLogits;
    private float[] _hostLosses = [];

    /// <summary>Runs the model on a batch without computing a loss (inference); read the result with <see cref="GetLogits"/>.</summary>
    /// <param name="inputs">(B,T) token ids below V.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T, at most maxT.</param>
    public void Forward(ReadOnlySpan<int> inputs, int batchSize, int sequenceLength) =>
        Forward(inputs, [], batchSize, sequenceLength);

    /// <summary>
    /// Runs the model on a batch and returns the mean cross-entropy loss over the V real vocabulary columns
    /// (the padding columns are computed but never enter the softmax).
    /// </summary>
    /// <param name="inputs">(B,T) token ids below V.</param>
    /// <param name="targets">(B,T) next-token ids below V, or empty for inference.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T, at most maxT.</param>
    /// <returns>The mean loss, or NaN without targets.</returns>
    public float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int sequenceLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequenceLength, Config.MaxSequenceLength);
        int bt = checked(batchSize * sequenceLength);
        // token ids are checked here, on the host, for every backend: a GPU kernel cannot report a bad index
        CheckTokens(inputs, bt, nameof(inputs));
        if (!targets.IsEmpty)
        {
            CheckTokens(targets, bt, nameof(targets));
        }

        var acts = EnsureShape(batchSize, sequenceLength);
        var be = Backend;
        var p = Parameters;
        be.Upload(inputs, acts.Tokens);
        be.EncoderForward(acts.Tokens, p.TokenEmbedding, p.PositionEmbedding, acts.Encoded);
        Action<BlockActivations> attention = Attention == AttentionKind.Flash
            ? a => be.FlashAttentionForward(a.Qkv, a.Atty, a.Att)
            : a => be.AttentionForward(a.Qkv, a.Atty, a.Att);
        for (int l = 0; l < Config.LayerCount; l++)
        {
            TransformerBlock.Forward(be, p, l, acts.BlockInput(l), acts.Blocks[l], attention);
        }

        be.LayerNormForward(acts.BlockInput(Config.LayerCount), p.LnfWeight, p.LnfBias, acts.Lnf, acts.LnfMean, acts.LnfRstd);
        // the classifier shares wte with the encoder (weight tying); all Vp rows are computed
        be.MatmulForward(acts.Lnf, p.TokenEmbedding, null, acts.Logits);
        _hasLogits = true;
        _hasTargets = !targets.IsEmpty;
        if (!_hasTargets)
        {
            LastLoss = float.NaN;
            return LastLoss;
        }

        be.Upload(targets, acts.Targets);
        be.SoftmaxCrossEntropyForward(acts.Logits, acts.Targets, acts.Probabilities, acts.Losses, Config.VocabularySize);
        LastLoss = MeanLoss(acts);
        return LastLoss;
    }

    /// <summary>Copies the per-position losses of the last forward pass with targets: (B,T), row-major.</summary>
    /// <param name="destination">B·T floats.</param>
    /// <exception cref="InvalidOperationException">The last forward pass had no targets.</exception>
    public void GetLosses(Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_hasTargets)
        {
            throw new InvalidOperationException("GetLosses needs a preceding Forward with targets.");
        }

        if (destination.Length != _hostLosses.Length)
        {
            throw new ArgumentException($"Expected {_hostLosses.Length} elements (B·T), got {destination.Length}.", nameof(destination));
        }

        _hostLosses.CopyTo(destination);
    }

    /// <summary>Sets every parameter gradient to zero.</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Backend.Fill(Gradients.All, 0f);
    }

    /// <summary>
    /// Back-propagates the mean loss of the last forward pass, adding into the parameter gradients
    /// (call <see cref="ZeroGrad"/> first unless accumulating over micro-batches). The logits are overwritten by
    /// their gradient.
    /// </summary>
    /// <param name="lossScale">Multiplies the loss being differentiated; 1/steps averages gradient accumulation over micro-batches.</param>
    /// <exception cref="InvalidOperationException">The last forward pass had no targets.</exception>
    public void Backward(float lossScale = 1f)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_hasTargets || !_hasLogits)
        {
            throw new InvalidOperationException("Backward needs a preceding Forward with targets.");
        }

        var acts = _acts!;
        var grads = _grads ??= new ActivationGradients(Backend, Config, acts.BatchSize, acts.SequenceLength, Layout.ElementType);
        var be = Backend;
        var p = Parameters;
        var d = Gradients;
        int bt = acts.BatchSize * acts.SequenceLength, layers = Config.LayerCount;
        var dLogits = acts.Logits; // written over the logits, which the backward no longer needs
        be.Fill(dLogits, 0f);
        be.SoftmaxCrossEntropyBackward(acts.Probabilities, acts.Targets, dLogits, lossScale / bt, Config.VocabularySize);
        _hasLogits = false;
        be.Fill(grads.Lnf, 0f);
        be.Fill(grads.Residual, 0f);
        be.MatmulBackward(dLogits, acts.Lnf, p.TokenEmbedding, grads.Lnf, d.TokenEmbedding, null);
        be.LayerNormBackward(grads.Lnf, acts.BlockInput(layers), p.LnfWeight, acts.LnfMean, acts.LnfRstd, grads.Residual, d.LnfWeight, d.LnfBias);
        for (int l = layers - 1; l >= 0; l--)
        {
            TransformerBlock.Backward(be, p, d, l, acts.BlockInput(l), acts.Blocks[l], grads.Block, grads.Residual, acts.Attention);
        }

        be.EncoderBackward(grads.Residual, acts.Tokens, d.TokenEmbedding, d.PositionEmbedding);
    }

    private float MeanLoss(Activations acts)
    {
        int bt = acts.BatchSize * acts.SequenceLength;
        var losses = _hostLosses.Length == bt ? _hostLosses : _hostLosses = new float[bt];
        Backend.Download(acts.Losses, losses);
        double sum = 0;
        foreach (float loss in losses)
        {
            sum += loss;
        }

        return (float)(sum / bt);
    }

    private Activations EnsureShape(int batchSize, int sequenceLength)
    {
        if (_acts is { } a && a.BatchSize == batchSize && a.SequenceLength == sequenceLength && a.Attention == Attention)
        {
            return a;
        }

        _acts?.Dispose();
        _grads?.Dispose();
        _acts = null;
        _grads = null;
        _acts = new Activations(Backend, Config, batchSize, sequenceLength, Layout.ElementType, Attention);
        return _acts;
    }

    private void CheckTokens(ReadOnlySpan<int> tokens, int expected, string name)
    {
        if (tokens.Length != expected)
        {
            throw new ArgumentException($"Expected B*T = {expected} tokens, got {tokens.Length}.", name);
        }

        int v = Config.VocabularySize;
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)v)
            {
                throw new ArgumentOutOfRangeException(name, tokens[i], $"Token at index {i} is outside the vocabulary [0, {v}).");
            }
        }
    }
}
