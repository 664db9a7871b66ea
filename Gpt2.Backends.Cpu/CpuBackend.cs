using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Backends.Cpu;

/// <summary>
/// The fp32 CPU backend: SIMD (Vector256 with fused multiply-add) and multithreaded. Ops run synchronously on
/// the calling thread plus a thread pool; results do not depend on the thread count.
/// </summary>
public sealed unsafe class CpuBackend : IHostMemoryBackend
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
        OpShapes.SameLength(source.Length, destination.Length, nameof(source));
        source.CopyTo(new Span<T>(Ptr(destination), source.Length));
    }

    /// <inheritdoc/>
    public Span<T> GetHostSpan<T>(DeviceView<T> view) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(view.Length, int.MaxValue, nameof(view));
        return new Span<T>(Ptr(view), (int)view.Length);
    }

    /// <inheritdoc/>
    public void Download<T>(DeviceView<T> source, Span<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(destination.Length, source.Length, nameof(destination));
        new ReadOnlySpan<T>(Ptr(source), destination.Length).CopyTo(destination);
    }

    /// <inheritdoc/>
    public void Copy<T>(DeviceView<T> source, DeviceView<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(source.Length, destination.Length, nameof(source));
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
        OpShapes.EncoderForward(tokens, tokenEmbedding, positionEmbedding, output, batchSize, sequenceLength, channels);
        Encoder.Forward(_parallel, Ptr(tokens), Ptr(tokenEmbedding), Ptr(positionEmbedding), Ptr(output), batchSize, sequenceLength, channels);
    }

    /// <inheritdoc/>
    public void EncoderBackward(DeviceView<float> dOutput, DeviceView<int> tokens, DeviceView<float> dTokenEmbedding,
        DeviceView<float> dPositionEmbedding, int batchSize, int sequenceLength, int channels)
    {
        OpShapes.EncoderBackward(dOutput, tokens, dTokenEmbedding, dPositionEmbedding, batchSize, sequenceLength, channels);
        Encoder.Backward(_parallel, Ptr(dOutput), Ptr(tokens), Ptr(dTokenEmbedding), Ptr(dPositionEmbedding), batchSize, sequenceLength, channels);
    }

    /// <inheritdoc/>
    public void LayerNormForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float> bias,
        DeviceView<float> output, DeviceView<float> mean, DeviceView<float> reciprocalStd, int rows, int channels)
    {
        OpShapes.LayerNormForward(input, weight, bias, output, mean, reciprocalStd, rows, channels);
        LayerNorm.Forward(_parallel, Ptr(input), Ptr(weight), Ptr(bias), Ptr(output), Ptr(mean), Ptr(reciprocalStd), rows, channels);
    }

    /// <inheritdoc/>
    public void LayerNormBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> mean, DeviceView<float> reciprocalStd, DeviceView<float> dInput, DeviceView<float> dWeight,
        DeviceView<float> dBias, int rows, int channels)
    {
        OpShapes.LayerNormBackward(dOutput, input, weight, mean, reciprocalStd, dInput, dWeight, dBias, rows, channels);
        LayerNorm.Backward(_parallel, Ptr(dOutput), Ptr(input), Ptr(weight), Ptr(mean), Ptr(reciprocalStd),
            Ptr(dInput), Ptr(dWeight), Ptr(dBias), rows, channels);
    }

    /// <inheritdoc/>
    public void MatmulForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float>? bias,
        DeviceView<float> output, int rows, int channels, int outputChannels)
    {
        OpShapes.MatmulForward(input, weight, bias, output, rows, channels, outputChannels);
        float* b = null;
        if (bias is { } bv)
        {
            b = Ptr(bv);
        }

        Matmul.Forward(_parallel, Ptr(input), Ptr(weight), b, Ptr(output), rows, channels, outputChannels);
    }

    /// <inheritdoc/>
    public void MatmulBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float>? dBias, int rows, int channels, int outputChannels)
    {
        OpShapes.MatmulBackward(dOutput, input, weight, dInput, dWeight, dBias, rows, channels, outputChannels);
        float* db = null;
        if (dBias is { } dbv)
        {
            db = Ptr(dbv);
        }

        Matmul.Backward(_parallel, Ptr(dOutput), Ptr(input), Ptr(weight), Ptr(dInput), Ptr(dWeight), db, rows, channels, outputChannels);
    }

    /// <inheritdoc/>
    public void AttentionForward(DeviceView<float> qkv, DeviceView<float> output, DeviceView<float> attention,
        int batchSize, int sequenceLength, int channels, int heads)
    {
        OpShapes.AttentionForward(qkv, output, attention, batchSize, sequenceLength, channels, heads);
        Attention.Forward(_parallel, Ptr(qkv), Ptr(output), Ptr(attention), batchSize, sequenceLength, channels, heads);
    }

    /// <inheritdoc/>
    public void AttentionBackward(DeviceView<float> dOutput, DeviceView<float> qkv, DeviceView<float> attention,
        DeviceView<float> dQkv, int batchSize, int sequenceLength, int channels, int heads)
    {
        OpShapes.AttentionBackward(dOutput, qkv, attention, dQkv, batchSize, sequenceLength, channels, heads);
        Attention.Backward(_parallel, Ptr(dOutput), Ptr(qkv), Ptr(attention), Ptr(dQkv), batchSize, sequenceLength, channels, heads);
    }

    /// <inheritdoc/>
    public void AttentionDecode(DeviceView<float> qkvCache, DeviceView<float> output, int position, int channels, int heads)
    {
        OpShapes.AttentionDecode(qkvCache, output, position, channels, heads);
        Attention.Decode(_parallel, Ptr(qkvCache), Ptr(output), position, channels, heads);
    }

    /// <inheritdoc/>
    public void GeluForward(DeviceView<float> input, DeviceView<float> output, long count)
    {
        OpShapes.GeluForward(input, output, count);
        Gelu.Forward(_parallel, Ptr(input), Ptr(output), count);
    }

    /// <inheritdoc/>
    public void GeluBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> dInput, long count)
    {
        OpShapes.GeluBackward(dOutput, input, dInput, count);
        Gelu.Backward(_parallel, Ptr(dOutput), Ptr(input), Ptr(dInput), count);
    }

    /// <inheritdoc/>
    public void ResidualForward(DeviceView<float> a, DeviceView<float> b, DeviceView<float> output, long count)
    {
        OpShapes.ResidualForward(a, b, output, count);
        Residual.Forward(_parallel, Ptr(a), Ptr(b), Ptr(output), count);
    }

    /// <inheritdoc/>
    public void ResidualBackward(DeviceView<float> dOutput, DeviceView<float> dA, DeviceView<float> dB, long count)
    {
        OpShapes.ResidualBackward(dOutput, dA, dB, count);
        Residual.Backward(_parallel, Ptr(dOutput), Ptr(dA), Ptr(dB), count);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(DeviceView<float> logits, DeviceView<int> targets, DeviceView<float> probabilities,
        DeviceView<float> losses, int rows, int vocabularySize, int paddedVocabularySize)
    {
        OpShapes.SoftmaxCrossEntropyForward(logits, targets, probabilities, losses, rows, vocabularySize, paddedVocabularySize);
        CheckTargets(targets, vocabularySize);
        SoftmaxCrossEntropy.Forward(_parallel, Ptr(logits), Ptr(targets), Ptr(probabilities), Ptr(losses), rows, vocabularySize, paddedVocabularySize);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(DeviceView<float> probabilities, DeviceView<int> targets, DeviceView<float> dLogits,
        float lossScale, int rows, int vocabularySize, int paddedVocabularySize)
    {
        OpShapes.SoftmaxCrossEntropyBackward(probabilities, targets, dLogits, lossScale, rows, vocabularySize, paddedVocabularySize);
        CheckTargets(targets, vocabularySize);
        SoftmaxCrossEntropy.Backward(_parallel, Ptr(probabilities), Ptr(targets), Ptr(dLogits), lossScale, rows, vocabularySize, paddedVocabularySize);
    }

    /// <inheritdoc/>
    public void AdamWUpdate(DeviceView<float> gradients, DeviceView<float> parameters, DeviceView<float> firstMoment,
        DeviceView<float> secondMoment, AdamWStep step)
    {
        OpShapes.AdamWUpdate(gradients, parameters, firstMoment, secondMoment, step);
        long n = parameters.Length;
        Ops.AdamW.Update(_parallel, Ptr(gradients), Ptr(parameters), Ptr(firstMoment), Ptr(secondMoment), n, step);
    }

    /// <inheritdoc/>
    public void SumOfSquares(DeviceView<float> values, DeviceView<float> result)
    {
        OpShapes.SumOfSquares(values, result);
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
