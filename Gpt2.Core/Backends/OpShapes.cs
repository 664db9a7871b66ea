using Gpt2.Backends;

namespace Gpt2.Backends;

/// <summary>
/// The argument checks of every <see cref="IComputeBackend"/> op, shared by all backends so that a wrong shape
/// gets the same clear error, naming the parameter, whichever backend runs it.
/// </summary>
public static class OpShapes
{
    /// <summary>Checks the arguments of <see cref="IComputeBackend.EncoderForward"/>.</summary>
    /// <param name="tokens">As in the op.</param>
    /// <param name="tokenEmbedding">As in the op.</param>
    /// <param name="positionEmbedding">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="batchSize">As in the op.</param>
    /// <param name="sequenceLength">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    public static void EncoderForward(DeviceView<int> tokens, DeviceView<float> tokenEmbedding, DeviceView<float> positionEmbedding,
        DeviceView<float> output, int batchSize, int sequenceLength, int channels)
    {
        long bt = (long)batchSize * sequenceLength;
        Need(tokens, bt, nameof(tokens));
        AtLeast(positionEmbedding, (long)sequenceLength * channels, nameof(positionEmbedding));
        Need(output, bt * channels, nameof(output));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.EncoderBackward"/>.</summary>
    /// <param name="dOutput">As in the op.</param>
    /// <param name="tokens">As in the op.</param>
    /// <param name="dTokenEmbedding">As in the op.</param>
    /// <param name="dPositionEmbedding">As in the op.</param>
    /// <param name="batchSize">As in the op.</param>
    /// <param name="sequenceLength">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    public static void EncoderBackward(DeviceView<float> dOutput, DeviceView<int> tokens, DeviceView<float> dTokenEmbedding,
        DeviceView<float> dPositionEmbedding, int batchSize, int sequenceLength, int channels)
    {
        long bt = (long)batchSize * sequenceLength;
        Need(dOutput, bt * channels, nameof(dOutput));
        Need(tokens, bt, nameof(tokens));
        AtLeast(dPositionEmbedding, (long)sequenceLength * channels, nameof(dPositionEmbedding));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.LayerNormForward"/>.</summary>
    /// <param name="input">As in the op.</param>
    /// <param name="weight">As in the op.</param>
    /// <param name="bias">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="mean">As in the op.</param>
    /// <param name="reciprocalStd">As in the op.</param>
    /// <param name="rows">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    public static void LayerNormForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float> bias,
        DeviceView<float> output, DeviceView<float> mean, DeviceView<float> reciprocalStd, int rows, int channels)
    {
        long n = (long)rows * channels;
        Need(input, n, nameof(input));
        Need(weight, channels, nameof(weight));
        Need(bias, channels, nameof(bias));
        Need(output, n, nameof(output));
        Need(mean, rows, nameof(mean));
        Need(reciprocalStd, rows, nameof(reciprocalStd));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.LayerNormBackward"/>.</summary>
    /// <param name="dOutput">As in the op.</param>
    /// <param name="input">As in the op.</param>
    /// <param name="weight">As in the op.</param>
    /// <param name="mean">As in the op.</param>
    /// <param name="reciprocalStd">As in the op.</param>
    /// <param name="dInput">As in the op.</param>
    /// <param name="dWeight">As in the op.</param>
    /// <param name="dBias">As in the op.</param>
    /// <param name="rows">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    public static void LayerNormBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> mean, DeviceView<float> reciprocalStd, DeviceView<float> dInput, DeviceView<float> dWeight,
        DeviceView<float> dBias, int rows, int channels)
    {
        long n = (long)rows * channels;
        Need(dOutput, n, nameof(dOutput));
        Need(input, n, nameof(input));
        Need(weight, channels, nameof(weight));
        Need(mean, rows, nameof(mean));
        Need(reciprocalStd, rows, nameof(reciprocalStd));
        Need(dInput, n, nameof(dInput));
        Need(dWeight, channels, nameof(dWeight));
        Need(dBias, channels, nameof(dBias));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.MatmulForward"/>.</summary>
    /// <param name="input">As in the op.</param>
    /// <param name="weight">As in the op.</param>
    /// <param name="bias">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="rows">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    /// <param name="outputChannels">As in the op.</param>
    public static void MatmulForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float>? bias,
        DeviceView<float> output, int rows, int channels, int outputChannels)
    {
        Need(input, (long)rows * channels, nameof(input));
        Need(weight, (long)outputChannels * channels, nameof(weight));
        Need(output, (long)rows * outputChannels, nameof(output));

        if (bias is { } b)
        {
            Need(b, outputChannels, nameof(bias));
        }
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.MatmulBackward"/>.</summary>
    /// <param name="dOutput">As in the op.</param>
    /// <param name="input">As in the op.</param>
    /// <param name="weight">As in the op.</param>
    /// <param name="dInput">As in the op.</param>
    /// <param name="dWeight">As in the op.</param>
    /// <param name="dBias">As in the op.</param>
    /// <param name="rows">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    /// <param name="outputChannels">As in the op.</param>
    public static void MatmulBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float>? dBias, int rows, int channels, int outputChannels)
    {
        Need(dOutput, (long)rows * outputChannels, nameof(dOutput));
        Need(input, (long)rows * channels, nameof(input));
        Need(weight, (long)outputChannels * channels, nameof(weight));
        Need(dInput, (long)rows * channels, nameof(dInput));
        Need(dWeight, (long)outputChannels * channels, nameof(dWeight));

        if (dBias is { } db)
        {
            Need(db, outputChannels, nameof(dBias));
        }
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.AttentionForward"/>.</summary>
    /// <param name="qkv">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="attention">As in the op.</param>
    /// <param name="batchSize">As in the op.</param>
    /// <param name="sequenceLength">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    /// <param name="heads">As in the op.</param>
    public static void AttentionForward(DeviceView<float> qkv, DeviceView<float> output, DeviceView<float> attention,
        int batchSize, int sequenceLength, int channels, int heads)
    {
        CheckHeads(channels, heads);
        long bt = (long)batchSize * sequenceLength;
        Need(qkv, bt * 3 * channels, nameof(qkv));
        Need(output, bt * channels, nameof(output));
        Need(attention, bt * heads * sequenceLength, nameof(attention));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.AttentionBackward"/>.</summary>
    /// <param name="dOutput">As in the op.</param>
    /// <param name="qkv">As in the op.</param>
    /// <param name="attention">As in the op.</param>
    /// <param name="dQkv">As in the op.</param>
    /// <param name="batchSize">As in the op.</param>
    /// <param name="sequenceLength">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    /// <param name="heads">As in the op.</param>
    public static void AttentionBackward(DeviceView<float> dOutput, DeviceView<float> qkv, DeviceView<float> attention,
        DeviceView<float> dQkv, int batchSize, int sequenceLength, int channels, int heads)
    {
        CheckHeads(channels, heads);
        long bt = (long)batchSize * sequenceLength;
        Need(dOutput, bt * channels, nameof(dOutput));
        Need(qkv, bt * 3 * channels, nameof(qkv));
        Need(attention, bt * heads * sequenceLength, nameof(attention));
        Need(dQkv, bt * 3 * channels, nameof(dQkv));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.GeluForward"/>.</summary>
    /// <param name="input">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="count">As in the op.</param>
    public static void GeluForward(DeviceView<float> input, DeviceView<float> output, long count)
    {
        Need(input, count, nameof(input));
        Need(output, count, nameof(output));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.GeluBackward"/>.</summary>
    /// <param name="dOutput">As in the op.</param>
    /// <param name="input">As in the op.</param>
    /// <param name="dInput">As in the op.</param>
    /// <param name="count">As in the op.</param>
    public static void GeluBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> dInput, long count)
    {
        Need(dOutput, count, nameof(dOutput));
        Need(input, count, nameof(input));
        Need(dInput, count, nameof(dInput));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.ResidualForward"/>.</summary>
    /// <param name="a">As in the op.</param>
    /// <param name="b">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="count">As in the op.</param>
    public static void ResidualForward(DeviceView<float> a, DeviceView<float> b, DeviceView<float> output, long count)
    {
        Need(a, count, nameof(a));
        Need(b, count, nameof(b));
        Need(output, count, nameof(output));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.ResidualBackward"/>.</summary>
    /// <param name="dOutput">As in the op.</param>
    /// <param name="dA">As in the op.</param>
    /// <param name="dB">As in the op.</param>
    /// <param name="count">As in the op.</param>
    public static void ResidualBackward(DeviceView<float> dOutput, DeviceView<float> dA, DeviceView<float> dB, long count)
    {
        Need(dOutput, count, nameof(dOutput));
        Need(dA, count, nameof(dA));
        Need(dB, count, nameof(dB));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.SoftmaxCrossEntropyForward"/>.</summary>
    /// <param name="logits">As in the op.</param>
    /// <param name="targets">As in the op.</param>
    /// <param name="probabilities">As in the op.</param>
    /// <param name="losses">As in the op.</param>
    /// <param name="rows">As in the op.</param>
    /// <param name="vocabularySize">As in the op.</param>
    /// <param name="paddedVocabularySize">As in the op.</param>
    public static void SoftmaxCrossEntropyForward(DeviceView<float> logits, DeviceView<int> targets, DeviceView<float> probabilities,
        DeviceView<float> losses, int rows, int vocabularySize, int paddedVocabularySize)
    {
        CheckVocabulary(vocabularySize, paddedVocabularySize);
        Need(logits, (long)rows * paddedVocabularySize, nameof(logits));
        Need(targets, rows, nameof(targets));
        Need(probabilities, (long)rows * paddedVocabularySize, nameof(probabilities));
        Need(losses, rows, nameof(losses));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.SoftmaxCrossEntropyBackward"/>.</summary>
    /// <param name="probabilities">As in the op.</param>
    /// <param name="targets">As in the op.</param>
    /// <param name="dLogits">As in the op.</param>
    /// <param name="lossScale">As in the op.</param>
    /// <param name="rows">As in the op.</param>
    /// <param name="vocabularySize">As in the op.</param>
    /// <param name="paddedVocabularySize">As in the op.</param>
    public static void SoftmaxCrossEntropyBackward(DeviceView<float> probabilities, DeviceView<int> targets, DeviceView<float> dLogits,
        float lossScale, int rows, int vocabularySize, int paddedVocabularySize)
    {
        CheckVocabulary(vocabularySize, paddedVocabularySize);
        Need(probabilities, (long)rows * paddedVocabularySize, nameof(probabilities));
        Need(targets, rows, nameof(targets));
        Need(dLogits, (long)rows * paddedVocabularySize, nameof(dLogits));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.AdamWUpdate"/>.</summary>
    /// <param name="gradients">As in the op.</param>
    /// <param name="parameters">As in the op.</param>
    /// <param name="firstMoment">As in the op.</param>
    /// <param name="secondMoment">As in the op.</param>
    /// <param name="step">As in the op.</param>
    public static void AdamWUpdate(DeviceView<float> gradients, DeviceView<float> parameters, DeviceView<float> firstMoment,
        DeviceView<float> secondMoment, AdamWStep step)
    {
        long n = parameters.Length;
        Need(gradients, n, nameof(gradients));
        Need(firstMoment, n, nameof(firstMoment));
        Need(secondMoment, n, nameof(secondMoment));
        ArgumentOutOfRangeException.ThrowIfLessThan(step.Step, 1, nameof(step));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.SumOfSquares"/>.</summary>
    /// <param name="values">As in the op.</param>
    /// <param name="result">As in the op.</param>
    public static void SumOfSquares(DeviceView<float> values, DeviceView<float> result)
    {
        Need(result, 1, nameof(result));
    }

    /// <summary>Checks the arguments of <see cref="IComputeBackend.AttentionDecode"/>.</summary>
    /// <param name="qkvCache">As in the op.</param>
    /// <param name="output">As in the op.</param>
    /// <param name="position">As in the op.</param>
    /// <param name="channels">As in the op.</param>
    /// <param name="heads">As in the op.</param>
    public static void AttentionDecode(DeviceView<float> qkvCache, DeviceView<float> output, int position, int channels, int heads)
    {
        CheckHeads(channels, heads);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        Need(qkvCache, (position + 1L) * 3 * channels, nameof(qkvCache));
        Need(output, channels, nameof(output));
    }

    /// <summary>Checks that a view has exactly the length a shape implies.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="view">The view.</param>
    /// <param name="length">The expected length.</param>
    /// <param name="name">The parameter's name, for the error.</param>
    public static void Need<T>(DeviceView<T> view, long length, string name) where T : unmanaged
    {
        if (view.Length != length)
        {
            throw new ArgumentException($"Expected {length} elements for this shape, got {view.Length}.", name);
        }
    }

    /// <summary>Checks that a host span and a view have the same length (copies).</summary>
    /// <param name="a">One length.</param>
    /// <param name="b">The other.</param>
    /// <param name="name">The parameter's name, for the error.</param>
    public static void SameLength(long a, long b, string name)
    {
        if (a != b)
        {
            throw new ArgumentException($"Lengths differ: {a} and {b}.", name);
        }
    }

    private static void AtLeast<T>(DeviceView<T> view, long length, string name) where T : unmanaged
    {
        if (view.Length < length)
        {
            throw new ArgumentException($"Expected at least {length} elements for this shape, got {view.Length}.", name);
        }
    }

    private static void CheckHeads(int channels, int heads)
    {
        if (heads <= 0 || channels % heads != 0)
        {
            throw new ArgumentException($"The head count {heads} must divide the channel count {channels}.", nameof(heads));
        }
    }

    private static void CheckVocabulary(int vocabularySize, int paddedVocabularySize)
    {
        if (vocabularySize <= 0 || paddedVocabularySize < vocabularySize)
        {
            throw new ArgumentException($"Invalid vocabulary V={vocabularySize}, Vp={paddedVocabularySize}.", nameof(paddedVocabularySize));
        }
    }
}
