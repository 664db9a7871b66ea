using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Backends.Cpu;

/// <summary>
/// The CPU backend: fp32 SIMD kernels (at the width of Vector&lt;T&gt;, with fused multiply-add where the hardware has
/// it), multithreaded. Ops run synchronously on the calling thread plus a thread pool; results do not depend on the
/// thread count. Implements fp32 and int32 tensors, and bf16 storage with fp32 math.
/// </summary>
public sealed unsafe class CpuBackend : ComputeBackend, IHostMemoryBackend
{
    private readonly CpuParallel _parallel;
    private readonly BFloat16Staging _staging;

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
        _staging = new BFloat16Staging(_parallel);
    }

    /// <inheritdoc/>
    public override string Name => "cpu";

    /// <summary>Threads per op.</summary>
    public int Threads => _parallel.Threads;

    /// <inheritdoc/>
    /// <remarks>
    /// bf16 tensors are stored as bf16 and computed in fp32: each op widens them exactly, runs the fp32 kernel and
    /// rounds its outputs once to nearest even, so a bf16 result is the fp32 result rounded (a reference for bf16
    /// GPU kernels, not a fast path).
    /// </remarks>
    public override bool Supports(ElementType type) => type is ElementType.Float32 or ElementType.Int32 or ElementType.BFloat16;

    /// <inheritdoc/>
    public Span<T> GetHostSpan<T>(DeviceTensor tensor) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tensor.Length, int.MaxValue, nameof(tensor));
        if (tensor.Buffer is not CpuBuffer || !ReferenceEquals(tensor.Buffer.Backend, this) || tensor.ElementType != ElementTypes.ForHostType<T>())
        {
            throw new ArgumentException($"Expected a {ElementTypes.ForHostType<T>().ShortName()} tensor of this CPU backend, got {tensor}.", nameof(tensor));
        }

        return new Span<T>(Ptr<T>(tensor), (int)tensor.Length);
    }

    /// <inheritdoc/>
    public override void Synchronize()
    {
    }

    /// <inheritdoc/>
    protected override DeviceBuffer AllocateCore(ElementType type, TensorShape shape) => new CpuBuffer(this, type, shape);

    /// <inheritdoc/>
    protected override void UploadCore<T>(ReadOnlySpan<T> source, DeviceTensor destination) =>
        source.CopyTo(new Span<T>(Ptr<T>(destination), source.Length));

    /// <inheritdoc/>
    protected override void DownloadCore<T>(DeviceTensor source, Span<T> destination) =>
        new ReadOnlySpan<T>(Ptr<T>(source), destination.Length).CopyTo(destination);

    /// <inheritdoc/>
    protected override void CopyCore(DeviceTensor source, DeviceTensor destination)
    {
        long bytes = destination.Length * destination.ElementType.Size();
        Buffer.MemoryCopy(Ptr<byte>(source), Ptr<byte>(destination), bytes, bytes);
    }

    /// <inheritdoc/>
    protected override void ConvertCore(DeviceTensor source, DeviceTensor destination, uint? stochasticSeed)
    {
        try
        {
            float* from = W(source);
            if (destination.ElementType != ElementType.BFloat16 || stochasticSeed is not uint seed)
            {
                float* to = W(destination);
                long bytes = source.Length * sizeof(float);
                Buffer.MemoryCopy(from, to, bytes, bytes);
                return;
            }

            ushort* bits = Ptr<ushort>(destination);
            _parallel.ForRanges(source.Length, 1 << 16, (start, end) =>
            {
                for (long i = start; i < end; i++)
                {
                    bits[i] = Formats.BFloat16.FromSingleStochastic(from[i], Formats.BFloat16.RoundingNoise((uint)i, seed));
                }
            });
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void FillCore(DeviceTensor destination, float value)
    {
        try
        {
            float* p = W(destination);
            _parallel.ForRanges(destination.Length, 1 << 16, (start, end) =>
            {
                for (long i = start; i < end; i += int.MaxValue)
                {
                    new Span<float>(p + i, (int)Math.Min(int.MaxValue, end - i)).Fill(value);
                }
            });
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void EncoderForwardCore(DeviceTensor tokens, DeviceTensor tokenEmbedding, DeviceTensor positionEmbedding, DeviceTensor output)
    {
        try
        {
            Encoder.Forward(_parallel, I(tokens), W(tokenEmbedding), W(positionEmbedding), W(output), tokens.Shape[0], tokens.Shape[1], tokenEmbedding.Shape[1]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void EncoderBackwardCore(DeviceTensor dOutput, DeviceTensor tokens, DeviceTensor dTokenEmbedding, DeviceTensor dPositionEmbedding)
    {
        try
        {
            Encoder.Backward(_parallel, W(dOutput), I(tokens), W(dTokenEmbedding), W(dPositionEmbedding), tokens.Shape[0], tokens.Shape[1], dTokenEmbedding.Shape[1]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void LayerNormForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor bias,
        DeviceTensor output, DeviceTensor mean, DeviceTensor reciprocalStd)
    {
        try
        {
            LayerNorm.Forward(_parallel, W(input), W(weight), W(bias), W(output), W(mean), W(reciprocalStd), Rows(input), input.Shape.Last);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void LayerNormBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight, DeviceTensor mean,
        DeviceTensor reciprocalStd, DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor dBias)
    {
        try
        {
            LayerNorm.Backward(_parallel, W(dOutput), W(input), W(weight), W(mean), W(reciprocalStd), W(dInput), W(dWeight), W(dBias),
                Rows(input), input.Shape.Last);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void MatmulForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor? bias, DeviceTensor output)
    {
        try
        {
            Matmul.Forward(_parallel, W(input), W(weight), bias is { } b ? W(b) : null, W(output), Rows(input), weight.Shape[1], weight.Shape[0]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void MatmulBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight,
        DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor? dBias)
    {
        try
        {
            Matmul.Backward(_parallel, W(dOutput), W(input), W(weight), W(dInput), W(dWeight), dBias is { } db ? W(db) : null,
                Rows(input), weight.Shape[1], weight.Shape[0]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void AttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor attention)
    {
        try
        {
            Attention.Forward(_parallel, W(qkv), W(output), W(attention), qkv.Shape[0], qkv.Shape[1], output.Shape[2], attention.Shape[1]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void AttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor attention, DeviceTensor dQkv)
    {
        try
        {
            Attention.Backward(_parallel, W(dOutput), W(qkv), W(attention), W(dQkv), qkv.Shape[0], qkv.Shape[1], dOutput.Shape[2], attention.Shape[1]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void FlashAttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp)
    {
        try
        {
            Ops.FlashAttention.Forward(_parallel, W(qkv), W(output), W(logSumExp), qkv.Shape[0], qkv.Shape[1], output.Shape[2], logSumExp.Shape[1]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void FlashAttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp, DeviceTensor dQkv)
    {
        try
        {
            Ops.FlashAttention.Backward(_parallel, W(dOutput), W(qkv), W(output), W(logSumExp), W(dQkv), qkv.Shape[0], qkv.Shape[1], output.Shape[2], logSumExp.Shape[1]);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    /// <remarks>Both kinds, for any head size.</remarks>
    public override bool Supports(AttentionKind kind) => kind is AttentionKind.Standard or AttentionKind.Flash;

    /// <inheritdoc/>
    protected override void AttentionDecodeCore(DeviceTensor qkvCache, DeviceTensor output, int heads)
    {
        try
        {
            Ops.AttentionDecode.Forward(_parallel, W(qkvCache), W(output), qkvCache.Shape[0] - 1, (int)output.Length, heads);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void GeluForwardCore(DeviceTensor input, DeviceTensor output)
    {
        try
        {
            Gelu.Forward(_parallel, W(input), W(output), input.Length);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void GeluBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor dInput)
    {
        try
        {
            Gelu.Backward(_parallel, W(dOutput), W(input), W(dInput), input.Length);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void ResidualForwardCore(DeviceTensor a, DeviceTensor b, DeviceTensor output)
    {
        try
        {
            Residual.Forward(_parallel, W(a), W(b), W(output), a.Length);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(DeviceTensor logits, DeviceTensor targets, DeviceTensor probabilities,
        DeviceTensor losses, int vocabularySize)
    {
        try
        {
            SoftmaxCrossEntropy.Forward(_parallel, W(logits), I(targets), W(probabilities), W(losses), Rows(logits), vocabularySize, logits.Shape.Last);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(DeviceTensor probabilities, DeviceTensor targets, DeviceTensor dLogits,
        float lossScale, int vocabularySize)
    {
        try
        {
            SoftmaxCrossEntropy.Backward(_parallel, W(probabilities), I(targets), W(dLogits), lossScale, Rows(probabilities), vocabularySize,
                probabilities.Shape.Last);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void AdamWUpdateCore(DeviceTensor gradients, DeviceTensor parameters, DeviceTensor firstMoment,
        DeviceTensor secondMoment, AdamWStep step)
    {
        try
        {
            AdamW.Update(_parallel, W(gradients), W(parameters), W(firstMoment), W(secondMoment), parameters.Length, step);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void SumOfSquaresCore(DeviceTensor values, DeviceTensor result)
    {
        try
        {
            *W(result) = Ops.SumOfSquares.Compute(_parallel, W(values), values.Length);
        }
        finally
        {
            _staging.Narrow();
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _staging.Dispose();
        base.Dispose(disposing);
    }

    private static int Rows(DeviceTensor tensor) => checked((int)tensor.Shape.Rows);

    // the seam has checked ownership, element types and shapes
    private static T* Ptr<T>(DeviceTensor tensor) where T : unmanaged =>
        (T*)((byte*)((CpuBuffer)tensor.Buffer).Pointer + tensor.Offset * tensor.ElementType.Size());

    /// <summary>An fp32 tensor in place, or a bf16 one widened into scratch (narrowed back by <see cref="BFloat16Staging.Narrow"/>).</summary>
    private float* W(DeviceTensor tensor) =>
        tensor.ElementType == ElementType.BFloat16 ? _staging.Widen(Ptr<ushort>(tensor), tensor.Length) : Ptr<float>(tensor);

    private static int* I(DeviceTensor tensor) => Ptr<int>(tensor);
}
