using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Backends.Cpu;

/// <summary>
/// The fp32 CPU backend: SIMD (Vector256 with fused multiply-add) and multithreaded. Ops run synchronously on
/// the calling thread plus a thread pool; results do not depend on the thread count.
/// </summary>
public sealed unsafe class CpuBackend : IComputeBackend
{
    private readonly CpuParallel _parallel;

    /// <summary>Creates the backend.</summary>
    /// <param name="threads">Threads per op; defaults to <see cref="Environment.ProcessorCount"/>.</param>
    public CpuBackend(int? threads = null)
    {
        int n = threads ?? Environment.ProcessorCount;
        if (n <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "The thread count must be positive.");
        }

        _parallel = new CpuParallel(n);
    }

    /// <inheritdoc/>
    public string Name => "cpu";

    /// <summary>Threads per op.</summary>
    public int Threads => _parallel.Threads;

    /// <inheritdoc/>
    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged => new CpuBuffer<T>(this, length);

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> source, DeviceView<T> destination) where T : unmanaged
    {
        SameLength(source.Length, destination.Length, nameof(source));
        source.CopyTo(new Span<T>(Ptr(destination), source.Length));
    }

    /// <inheritdoc/>
    public void Download<T>(DeviceView<T> source, Span<T> destination) where T : unmanaged
    {
        SameLength(destination.Length, source.Length, nameof(destination));
        new ReadOnlySpan<T>(Ptr(source), destination.Length).CopyTo(destination);
    }

    /// <inheritdoc/>
    public void Copy<T>(DeviceView<T> source, DeviceView<T> destination) where T : unmanaged
    {
        SameLength(source.Length, destination.Length, nameof(source));
        Buffer.MemoryCopy(Ptr(source), Ptr(destination), destination.Length * sizeof(T), source.Length * sizeof(T));
    }

    /// <inheritdoc/>
    public void Fill(DeviceView<float> destination, float value)
    {
        float* p = Ptr(destination);
        _parallel.ForRanges(destination.Length, 1 << 16, (start, end) =>
        {
            for (long i = start; i < end; i += int.MaxValue)
            {
                new Span<float>(p + i, (int)Math.Min(int.MaxValue, end - i)).Fill(value);
            }
        });
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
    }

    /// <inheritdoc/>
    public void EncoderForward(DeviceView<int> tokens, DeviceView<float> tokenEmbedding, DeviceView<float> positionEmbedding,
        DeviceView<float> output, int batchSize, int sequenceLength, int channels)
    {
        long bt = (long)batchSize * sequenceLength;
        Need(tokens, bt, nameof(tokens));
        AtLeast(positionEmbedding, (long)sequenceLength * channels, nameof(positionEmbedding));
        Need(output, bt * channels, nameof(output));
        Encoder.Forward(_parallel, Ptr(tokens), Ptr(tokenEmbedding), Ptr(positionEmbedding), Ptr(output), batchSize, sequenceLength, channels);
    }

    /// <inheritdoc/>
    public void EncoderBackward(DeviceView<float> dOutput, DeviceView<int> tokens, DeviceView<float> dTokenEmbedding,
        DeviceView<float> dPositionEmbedding, int batchSize, int sequenceLength, int channels)
    {
        long bt = (long)batchSize * sequenceLength;
        Need(dOutput, bt * channels, nameof(dOutput));
        Need(tokens, bt, nameof(tokens));
        AtLeast(dPositionEmbedding, (long)sequenceLength * channels, nameof(dPositionEmbedding));
        Encoder.Backward(_parallel, Ptr(dOutput), Ptr(tokens), Ptr(dTokenEmbedding), Ptr(dPositionEmbedding), batchSize, sequenceLength, channels);
    }

    /// <inheritdoc/>
    public void LayerNormForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float> bias,
        DeviceView<float> output, DeviceView<float> mean, DeviceView<float> reciprocalStd, int rows, int channels)
    {
        long n = (long)rows * channels;
        Need(input, n, nameof(input));
        Need(weight, channels, nameof(weight));
        Need(bias, channels, nameof(bias));
        Need(output, n, nameof(output));
        Need(mean, rows, nameof(mean));
        Need(reciprocalStd, rows, nameof(reciprocalStd));
        LayerNorm.Forward(_parallel, Ptr(input), Ptr(weight), Ptr(bias), Ptr(output), Ptr(mean), Ptr(reciprocalStd), rows, channels);
    }

    /// <inheritdoc/>
    public void LayerNormBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
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
        LayerNorm.Backward(_parallel, Ptr(dOutput), Ptr(input), Ptr(weight), Ptr(mean), Ptr(reciprocalStd),
            Ptr(dInput), Ptr(dWeight), Ptr(dBias), rows, channels);
    }

    /// <inheritdoc/>
    public void MatmulForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float>? bias,
        DeviceView<float> output, int rows, int channels, int outputChannels)
    {
        Need(input, (long)rows * channels, nameof(input));
        Need(weight, (long)outputChannels * channels, nameof(weight));
        Need(output, (long)rows * outputChannels, nameof(output));
        float* b = null;
        if (bias is { } bv)
        {
            Need(bv, outputChannels, nameof(bias));
            b = Ptr(bv);
        }

        Matmul.Forward(_parallel, Ptr(input), Ptr(weight), b, Ptr(output), rows, channels, outputChannels);
    }

    /// <inheritdoc/>
    public void MatmulBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float>? dBias, int rows, int channels, int outputChannels)
    {
        Need(dOutput, (long)rows * outputChannels, nameof(dOutput));
        Need(input, (long)rows * channels, nameof(input));
        Need(weight, (long)outputChannels * channels, nameof(weight));
        Need(dInput, (long)rows * channels, nameof(dInput));
        Need(dWeight, (long)outputChannels * channels, nameof(dWeight));
        float* db = null;
        if (dBias is { } dbv)
        {
            Need(dbv, outputChannels, nameof(dBias));
            db = Ptr(dbv);
        }

        Matmul.Backward(_parallel, Ptr(dOutput), Ptr(input), Ptr(weight), Ptr(dInput), Ptr(dWeight), db, rows, channels, outputChannels);
    }

    /// <inheritdoc/>
    public void AttentionForward(DeviceView<float> qkv, DeviceView<float> output, DeviceView<float> attention,
        int batchSize, int sequenceLength, int channels, int heads)
    {
        CheckHeads(channels, heads);
        long bt = (long)batchSize * sequenceLength;
        Need(qkv, bt * 3 * channels, nameof(qkv));
        Need(output, bt * channels, nameof(output));
        Need(attention, bt * heads * sequenceLength, nameof(attention));
        Attention.Forward(_parallel, Ptr(qkv), Ptr(output), Ptr(attention), batchSize, sequenceLength, channels, heads);
    }

    /// <inheritdoc/>
    public void AttentionBackward(DeviceView<float> dOutput, DeviceView<float> qkv, DeviceView<float> attention,
        DeviceView<float> dQkv, int batchSize, int sequenceLength, int channels, int heads)
    {
        CheckHeads(channels, heads);
        long bt = (long)batchSize * sequenceLength;
        Need(dOutput, bt * channels, nameof(dOutput));
        Need(qkv, bt * 3 * channels, nameof(qkv));
        Need(attention, bt * heads * sequenceLength, nameof(attention));
        Need(dQkv, bt * 3 * channels, nameof(dQkv));
        Attention.Backward(_parallel, Ptr(dOutput), Ptr(qkv), Ptr(attention), Ptr(dQkv), batchSize, sequenceLength, channels, heads);
    }

    /// <inheritdoc/>
    public void GeluForward(DeviceView<float> input, DeviceView<float> output, long count)
    {
        Need(input, count, nameof(input));
        Need(output, count, nameof(output));
        Gelu.Forward(_parallel, Ptr(input), Ptr(output), count);
    }

    /// <inheritdoc/>
    public void GeluBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> dInput, long count)
    {
        Need(dOutput, count, nameof(dOutput));
        Need(input, count, nameof(input));
        Need(dInput, count, nameof(dInput));
        Gelu.Backward(_parallel, Ptr(dOutput), Ptr(input), Ptr(dInput), count);
    }

    /// <inheritdoc/>
    public void ResidualForward(DeviceView<float> a, DeviceView<float> b, DeviceView<float> output, long count)
    {
        Need(a, count, nameof(a));
        Need(b, count, nameof(b));
        Need(output, count, nameof(output));
        Residual.Forward(_parallel, Ptr(a), Ptr(b), Ptr(output), count);
    }

    /// <inheritdoc/>
    public void ResidualBackward(DeviceView<float> dOutput, DeviceView<float> dA, DeviceView<float> dB, long count)
    {
        Need(dOutput, count, nameof(dOutput));
        Need(dA, count, nameof(dA));
        Need(dB, count, nameof(dB));
        Residual.Backward(_parallel, Ptr(dOutput), Ptr(dA), Ptr(dB), count);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(DeviceView<float> logits, DeviceView<int> targets, DeviceView<float> probabilities,
        DeviceView<float> losses, int rows, int vocabularySize, int paddedVocabularySize)
    {
        CheckVocabulary(vocabularySize, paddedVocabularySize);
        Need(logits, (long)rows * paddedVocabularySize, nameof(logits));
        Need(targets, rows, nameof(targets));
        Need(probabilities, (long)rows * paddedVocabularySize, nameof(probabilities));
        Need(losses, rows, nameof(losses));
        CheckTargets(targets, vocabularySize);
        SoftmaxCrossEntropy.Forward(_parallel, Ptr(logits), Ptr(targets), Ptr(probabilities), Ptr(losses), rows, vocabularySize, paddedVocabularySize);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(DeviceView<float> probabilities, DeviceView<int> targets, DeviceView<float> dLogits,
        float lossScale, int rows, int vocabularySize, int paddedVocabularySize)
    {
        CheckVocabulary(vocabularySize, paddedVocabularySize);
        Need(probabilities, (long)rows * paddedVocabularySize, nameof(probabilities));
        Need(targets, rows, nameof(targets));
        Need(dLogits, (long)rows * paddedVocabularySize, nameof(dLogits));
        CheckTargets(targets, vocabularySize);
        SoftmaxCrossEntropy.Backward(_parallel, Ptr(probabilities), Ptr(targets), Ptr(dLogits), lossScale, rows, vocabularySize, paddedVocabularySize);
    }

    /// <inheritdoc/>
    public void AdamWUpdate(DeviceView<float> gradients, DeviceView<float> parameters, DeviceView<float> firstMoment,
        DeviceView<float> secondMoment, AdamWStep step)
    {
        long n = parameters.Length;
        Need(gradients, n, nameof(gradients));
        Need(firstMoment, n, nameof(firstMoment));
        Need(secondMoment, n, nameof(secondMoment));
        ArgumentOutOfRangeException.ThrowIfLessThan(step.Step, 1, nameof(step));
        Ops.AdamW.Update(_parallel, Ptr(gradients), Ptr(parameters), Ptr(firstMoment), Ptr(secondMoment), n, step);
    }

    /// <inheritdoc/>
    public void SumOfSquares(DeviceView<float> values, DeviceView<float> result)
    {
        Need(result, 1, nameof(result));
        *Ptr(result) = Ops.SumOfSquares.Compute(_parallel, Ptr(values), values.Length);
    }

    /// <summary>Nothing to release: buffers free their own memory.</summary>
    public void Dispose()
    {
    }

    private T* Ptr<T>(DeviceView<T> view) where T : unmanaged
    {
        if (view.Buffer is not CpuBuffer<T> buffer || !ReferenceEquals(buffer.Backend, this))
        {
            throw new ArgumentException("The buffer was not allocated by this CPU backend.", nameof(view));
        }

        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        return buffer.Pointer + view.Offset;
    }

    private static void Need<T>(DeviceView<T> view, long length, string name) where T : unmanaged
    {
        if (view.Length != length)
        {
            throw new ArgumentException($"Expected {length} elements for this shape, got {view.Length}.", name);
        }
    }

    private static void AtLeast<T>(DeviceView<T> view, long length, string name) where T : unmanaged
    {
        if (view.Length < length)
        {
            throw new ArgumentException($"Expected at least {length} elements for this shape, got {view.Length}.", name);
        }
    }

    private static void SameLength(long a, long b, string name)
    {
        if (a != b)
        {
            throw new ArgumentException($"Lengths differ: {a} and {b}.", name);
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

    private void CheckTargets(DeviceView<int> targets, int vocabularySize)
    {
        int* t = Ptr(targets);
        for (long i = 0; i < targets.Length; i++)
        {
            if ((uint)t[i] >= (uint)vocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), t[i], $"Target at index {i} is outside the vocabulary [0, {vocabularySize}).");
            }
        }
    }
}
