using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Backends.Cpu;

/// <summary>
/// The fp32 CPU backend: SIMD (Vector256 with fused multiply-add) and multithreaded. Ops run synchronously on
/// the calling thread plus a thread pool; results do not depend on the thread count. Implements fp32 and int32
/// tensors; bf16 is refused.
/// </summary>
public sealed unsafe class CpuBackend : ComputeBackend, IHostMemoryBackend
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
    public override string Name => "cpu";

    /// <summary>Threads per op.</summary>
    public int Threads => _parallel.Threads;

    /// <inheritdoc/>
    public override bool Supports(ElementType type) => type is ElementType.Float32 or ElementType.Int32;

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
    protected override void FillCore(DeviceTensor destination, float value)
    {
        float* p = F(destination);
        _parallel.ForRanges(destination.Length, 1 << 16, (start, end) =>
        {
            for (long i = start; i < end; i += int.MaxValue)
            {
                new Span<float>(p + i, (int)Math.Min(int.MaxValue, end - i)).Fill(value);
            }
        });
    }

    /// <inheritdoc/>
    protected override void EncoderForwardCore(DeviceTensor tokens, DeviceTensor tokenEmbedding, DeviceTensor positionEmbedding, DeviceTensor output) =>
        Encoder.Forward(_parallel, I(tokens), F(tokenEmbedding), F(positionEmbedding), F(output), tokens.Shape[0], tokens.Shape[1], tokenEmbedding.Shape[1]);

    /// <inheritdoc/>
    protected override void EncoderBackwardCore(DeviceTensor dOutput, DeviceTensor tokens, DeviceTensor dTokenEmbedding, DeviceTensor dPositionEmbedding) =>
        Encoder.Backward(_parallel, F(dOutput), I(tokens), F(dTokenEmbedding), F(dPositionEmbedding), tokens.Shape[0], tokens.Shape[1], dTokenEmbedding.Shape[1]);

    /// <inheritdoc/>
    protected override void LayerNormForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor bias,
        DeviceTensor output, DeviceTensor mean, DeviceTensor reciprocalStd) =>
        LayerNorm.Forward(_parallel, F(input), F(weight), F(bias), F(output), F(mean), F(reciprocalStd), Rows(input), input.Shape.Last);

    /// <inheritdoc/>
    protected override void LayerNormBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight, DeviceTensor mean,
        DeviceTensor reciprocalStd, DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor dBias) =>
        LayerNorm.Backward(_parallel, F(dOutput), F(input), F(weight), F(mean), F(reciprocalStd), F(dInput), F(dWeight), F(dBias),
            Rows(input), input.Shape.Last);

    /// <inheritdoc/>
    protected override void MatmulForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor? bias, DeviceTensor output) =>
        Matmul.Forward(_parallel, F(input), F(weight), bias is { } b ? F(b) : null, F(output), Rows(input), weight.Shape[1], weight.Shape[0]);

    /// <inheritdoc/>
    protected override void MatmulBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight,
        DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor? dBias) =>
        Matmul.Backward(_parallel, F(dOutput), F(input), F(weight), F(dInput), F(dWeight), dBias is { } db ? F(db) : null,
            Rows(input), weight.Shape[1], weight.Shape[0]);

    /// <inheritdoc/>
    protected override void AttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor attention) =>
        Attention.Forward(_parallel, F(qkv), F(output), F(attention), qkv.Shape[0], qkv.Shape[1], output.Shape[2], attention.Shape[1]);

    /// <inheritdoc/>
    protected override void AttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor attention, DeviceTensor dQkv) =>
        Attention.Backward(_parallel, F(dOutput), F(qkv), F(attention), F(dQkv), qkv.Shape[0], qkv.Shape[1], dOutput.Shape[2], attention.Shape[1]);

    /// <inheritdoc/>
    protected override void FlashAttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp) =>
        Ops.FlashAttention.Forward(_parallel, F(qkv), F(output), F(logSumExp), qkv.Shape[0], qkv.Shape[1], output.Shape[2], logSumExp.Shape[1]);

    /// <inheritdoc/>
    protected override void FlashAttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp, DeviceTensor dQkv) =>
        Ops.FlashAttention.Backward(_parallel, F(dOutput), F(qkv), F(output), F(logSumExp), F(dQkv), qkv.Shape[0], qkv.Shape[1], output.Shape[2], logSumExp.Shape[1]);

    /// <inheritdoc/>
    /// <remarks>Both kinds, for any head size.</remarks>
    public override bool Supports(AttentionKind kind) => kind is AttentionKind.Standard or AttentionKind.Flash;

    /// <inheritdoc/>
    protected override void AttentionDecodeCore(DeviceTensor qkvCache, DeviceTensor output, int heads) =>
        Ops.AttentionDecode.Forward(_parallel, F(qkvCache), F(output), qkvCache.Shape[0] - 1, (int)output.Length, heads);

    /// <inheritdoc/>
    protected override void GeluForwardCore(DeviceTensor input, DeviceTensor output) =>
        Gelu.Forward(_parallel, F(input), F(output), input.Length);

    /// <inheritdoc/>
    protected override void GeluBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor dInput) =>
        Gelu.Backward(_parallel, F(dOutput), F(input), F(dInput), input.Length);

    /// <inheritdoc/>
    protected override void ResidualForwardCore(DeviceTensor a, DeviceTensor b, DeviceTensor output) =>
        Residual.Forward(_parallel, F(a), F(b), F(output), a.Length);

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(DeviceTensor logits, DeviceTensor targets, DeviceTensor probabilities,
        DeviceTensor losses, int vocabularySize) =>
        SoftmaxCrossEntropy.Forward(_parallel, F(logits), I(targets), F(probabilities), F(losses), Rows(logits), vocabularySize, logits.Shape.Last);

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(DeviceTensor probabilities, DeviceTensor targets, DeviceTensor dLogits,
        float lossScale, int vocabularySize) =>
        SoftmaxCrossEntropy.Backward(_parallel, F(probabilities), I(targets), F(dLogits), lossScale, Rows(probabilities), vocabularySize,
            probabilities.Shape.Last);

    /// <inheritdoc/>
    protected override void AdamWUpdateCore(DeviceTensor gradients, DeviceTensor parameters, DeviceTensor firstMoment,
        DeviceTensor secondMoment, AdamWStep step) =>
        AdamW.Update(_parallel, F(gradients), F(parameters), F(firstMoment), F(secondMoment), parameters.Length, step);

    /// <inheritdoc/>
    protected override void SumOfSquaresCore(DeviceTensor values, DeviceTensor result) =>
        *F(result) = Ops.SumOfSquares.Compute(_parallel, F(values), values.Length);

    private static int Rows(DeviceTensor tensor) => checked((int)tensor.Shape.Rows);

    // the seam has checked ownership, element types and shapes
    private static T* Ptr<T>(DeviceTensor tensor) where T : unmanaged =>
        (T*)((byte*)((CpuBuffer)tensor.Buffer).Pointer + tensor.Offset * tensor.ElementType.Size());

    private static float* F(DeviceTensor tensor) => Ptr<float>(tensor);

    private static int* I(DeviceTensor tensor) => Ptr<int>(tensor);
}
