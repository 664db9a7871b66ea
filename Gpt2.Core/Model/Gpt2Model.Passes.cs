using Gpt2.Backends;

namespace Gpt2.Model;

public sealed partial class Gpt2Model
{
    private bool _hasTargets;
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
        var c = Config;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequenceLength, c.MaxSequenceLength);
        int bt = checked(batchSize * sequenceLength);
        CheckTokens(inputs, bt, nameof(inputs));
        if (!targets.IsEmpty)
        {
            CheckTokens(targets, bt, nameof(targets));
        }

        EnsureShape(batchSize, sequenceLength);
        var acts = _acts!;
        var be = Backend;
        int B = batchSize, T = sequenceLength, C = c.ChannelCount, L = c.LayerCount, NH = c.HeadCount;
        int V = c.VocabularySize, Vp = c.PaddedVocabularySize;
        var tokens = _tokens!.View;
        var targetView = _targets!.View;
        be.Upload(inputs, tokens);
        if (!targets.IsEmpty)
        {
            be.Upload(targets, targetView);
        }

        be.EncoderForward(tokens, Parameters.TokenEmbedding, Parameters.PositionEmbedding, acts.Encoded.View, B, T, C);
        for (int l = 0; l < L; l++)
        {
            var p = Parameters.Layer(l);
            var residual = l == 0 ? acts.Encoded.View : At(acts.Residual3, l - 1);
            be.LayerNormForward(residual, p.Ln1Weight, p.Ln1Bias, At(acts.Ln1, l), At(acts.Ln1Mean!, l), At(acts.Ln1Rstd!, l), bt, C);
            be.MatmulForward(At(acts.Ln1, l), p.QkvWeight, p.QkvBias, At(acts.Qkv, l), bt, C, 3 * C);
            be.AttentionForward(At(acts.Qkv, l), At(acts.Atty, l), At(acts.Att!, l), B, T, C, NH);
            be.MatmulForward(At(acts.Atty, l), p.AttentionProjectionWeight, p.AttentionProjectionBias, At(acts.AttProj, l), bt, C, C);
            be.ResidualForward(residual, At(acts.AttProj, l), At(acts.Residual2, l), (long)bt * C);
            be.LayerNormForward(At(acts.Residual2, l), p.Ln2Weight, p.Ln2Bias, At(acts.Ln2, l), At(acts.Ln2Mean!, l), At(acts.Ln2Rstd!, l), bt, C);
            be.MatmulForward(At(acts.Ln2, l), p.FcWeight, p.FcBias, At(acts.Fch, l), bt, C, 4 * C);
            be.GeluForward(At(acts.Fch, l), At(acts.FchGelu, l), (long)bt * 4 * C);
            be.MatmulForward(At(acts.FchGelu, l), p.FcProjectionWeight, p.FcProjectionBias, At(acts.FcProj, l), bt, 4 * C, C);
            be.ResidualForward(At(acts.Residual2, l), At(acts.FcProj, l), At(acts.Residual3, l), (long)bt * C);
        }

        be.LayerNormForward(At(acts.Residual3, L - 1), Parameters.LnfWeight, Parameters.LnfBias, acts.Lnf.View,
            acts.LnfMean!.View, acts.LnfRstd!.View, bt, C);
        // The classifier shares wte with the encoder (weight tying); all Vp rows are computed.
        be.MatmulForward(acts.Lnf.View, Parameters.TokenEmbedding, null, acts.Logits.View, bt, C, Vp);

        _hasTargets = !targets.IsEmpty;
        if (!_hasTargets)
        {
            LastLoss = float.NaN;
            return LastLoss;
        }

        be.SoftmaxCrossEntropyForward(acts.Logits.View, targetView, acts.Probabilities!.View, acts.Losses!.View, bt, V, Vp);
        var losses = _hostLosses.Length == bt ? _hostLosses : _hostLosses = new float[bt];
        be.Download(acts.Losses.View, losses);
        double sum = 0;
        foreach (float loss in losses)
        {
            sum += loss;
        }

        LastLoss = (float)(sum / bt);
        return LastLoss;
    }

    /// <summary>Sets every parameter gradient to zero.</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Backend.Fill(_gradients.View, 0f);
    }

    /// <summary>
    /// Back-propagates the mean loss of the last forward pass, adding into the parameter gradients
    /// (call <see cref="ZeroGrad"/> first unless accumulating over micro-batches).
    /// </summary>
    /// <param name="lossScale">Multiplies the loss being differentiated; 1/steps averages gradient accumulation over micro-batches.</param>
    /// <exception cref="InvalidOperationException">The last forward pass had no targets.</exception>
    public void Backward(float lossScale = 1f)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_hasTargets)
        {
            throw new InvalidOperationException("Backward needs a preceding Forward with targets.");
        }

        var acts = _acts!;
        var grads = _gradActs ??= new Activations(Backend, Config, acts.BatchSize, acts.SequenceLength, gradients: true);
        foreach (var buffer in grads.Buffers)
        {
            Backend.Fill(buffer.View, 0f);
        }

        var be = Backend;
        var c = Config;
        int B = acts.BatchSize, T = acts.SequenceLength, C = c.ChannelCount, L = c.LayerCount, NH = c.HeadCount;
        int V = c.VocabularySize, Vp = c.PaddedVocabularySize, bt = B * T;
        var d = Gradients;
        var tokens = _tokens!.View;

        be.SoftmaxCrossEntropyBackward(acts.Probabilities!.View, _targets!.View, grads.Logits.View, lossScale / bt, bt, V, Vp);
        be.MatmulBackward(grads.Logits.View, acts.Lnf.View, Parameters.TokenEmbedding, grads.Lnf.View, d.TokenEmbedding, null, bt, C, Vp);
        be.LayerNormBackward(grads.Lnf.View, At(acts.Residual3, L - 1), Parameters.LnfWeight, acts.LnfMean!.View, acts.LnfRstd!.View,
            At(grads.Residual3, L - 1), d.LnfWeight, d.LnfBias, bt, C);
        for (int l = L - 1; l >= 0; l--)
        {
            var p = Parameters.Layer(l);
            var dp = d.Layer(l);
            var residual = l == 0 ? acts.Encoded.View : At(acts.Residual3, l - 1);
            var dResidual = l == 0 ? grads.Encoded.View : At(grads.Residual3, l - 1);
            be.ResidualBackward(At(grads.Residual3, l), At(grads.Residual2, l), At(grads.FcProj, l), (long)bt * C);
            be.MatmulBackward(At(grads.FcProj, l), At(acts.FchGelu, l), p.FcProjectionWeight, At(grads.FchGelu, l),
                dp.FcProjectionWeight, dp.FcProjectionBias, bt, 4 * C, C);
            be.GeluBackward(At(grads.FchGelu, l), At(acts.Fch, l), At(grads.Fch, l), (long)bt * 4 * C);
            be.MatmulBackward(At(grads.Fch, l), At(acts.Ln2, l), p.FcWeight, At(grads.Ln2, l), dp.FcWeight, dp.FcBias, bt, C, 4 * C);
            be.LayerNormBackward(At(grads.Ln2, l), At(acts.Residual2, l), p.Ln2Weight, At(acts.Ln2Mean!, l), At(acts.Ln2Rstd!, l),
                At(grads.Residual2, l), dp.Ln2Weight, dp.Ln2Bias, bt, C);
            be.ResidualBackward(At(grads.Residual2, l), dResidual, At(grads.AttProj, l), (long)bt * C);
            be.MatmulBackward(At(grads.AttProj, l), At(acts.Atty, l), p.AttentionProjectionWeight, At(grads.Atty, l),
                dp.AttentionProjectionWeight, dp.AttentionProjectionBias, bt, C, C);
            be.AttentionBackward(At(grads.Atty, l), At(acts.Qkv, l), At(acts.Att!, l), At(grads.Qkv, l), B, T, C, NH);
            be.MatmulBackward(At(grads.Qkv, l), At(acts.Ln1, l), p.QkvWeight, At(grads.Ln1, l), dp.QkvWeight, dp.QkvBias, bt, C, 3 * C);
            be.LayerNormBackward(At(grads.Ln1, l), residual, p.Ln1Weight, At(acts.Ln1Mean!, l), At(acts.Ln1Rstd!, l),
                dResidual, dp.Ln1Weight, dp.Ln1Bias, bt, C);
        }

        be.EncoderBackward(grads.Encoded.View, tokens, d.TokenEmbedding, d.PositionEmbedding, B, T, C);
    }

    private DeviceView<float> At(DeviceBuffer<float> perLayer, int layer) => Activations.Layer(perLayer, layer, Config.LayerCount);

    private void EnsureShape(int batchSize, int sequenceLength)
    {
        if (_acts is { } a && a.BatchSize == batchSize && a.SequenceLength == sequenceLength)
        {
            return;
        }

        _acts?.Dispose();
        _gradActs?.Dispose();
        _tokens?.Dispose();
        _targets?.Dispose();
        _acts = null;
        _gradActs = null;
        _acts = new Activations(Backend, Config, batchSize, sequenceLength, gradients: false);
        _tokens = Backend.Allocate<int>((long)batchSize * sequenceLength);
        _targets = Backend.Allocate<int>((long)batchSize * sequenceLength);
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
