using System.Diagnostics;

namespace Gpt2.Backends;

/// <summary>
/// The seam between the GPT-2 model and the hardware. A backend owns memory and runs every op of GPT-2 training on
/// it. Each public op checks its arguments here, the same for every backend (ownership, element types and shapes,
/// naming the parameter), and then calls the backend's <c>…Core</c> implementation with tensors known to be valid.
/// </summary>
/// <remarks>
/// <para>
/// Ops are enqueued: a backend may run them asynchronously, in order. Only <see cref="Download{T}"/> and
/// <see cref="Synchronize"/> wait for the work before them.
/// </para>
/// <para>
/// Arguments are inputs, then outputs, then scalars; sizes come from the tensors' shapes. Shapes use B batch,
/// T time, C channels, NH heads, hs = C/NH, OC output channels, V vocabulary, Vp padded vocabulary; "(…, C)" is any
/// leading shape (rows = its product, usually B·T). Floating-point tensors may be of any type the backend
/// <see cref="Supports(ElementType)"/>; LayerNorm statistics, losses and AdamW moments are always fp32 and token ids int32.
/// Every <c>…Backward</c> op accumulates (<c>+=</c>) into its gradient outputs, so that gradients from several
/// uses of a tensor add up; callers zero them first.
/// </para>
/// <para>Not thread-safe: ops are enqueued from one thread at a time (the training thread) and run in the order enqueued. The backend owns what it allocates only until the caller disposes it: buffers are the caller's, and must be disposed before the backend.</para>
/// </remarks>
public abstract partial class ComputeBackend : IDisposable
{
    /// <summary>A short name for logs, for example <c>cpu</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The device's dense peak FLOP/s in the arithmetic the backend's matmuls use (TF32 or fp32 tensor/CUDA cores,
    /// from the vendor's data sheet), the denominator of MFU; null where no peak is known (CPUs, unlisted GPUs).
    /// </summary>
    public virtual double? PeakFlops => null;

    /// <summary>A short description of <see cref="PeakFlops"/>, for example <c>TF32 dense, NVIDIA H200</c>; null when it is unknown.</summary>
    public virtual string? PeakFlopsSource => null;

    /// <summary>Receives every op's time while set (profiling); null by default, which costs nothing.</summary>
    public IOpObserver? Observer { get; set; }

    /// <summary>Whether the backend implements an element type; the ops refuse tensors of any other.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>True when buffers of the type can be allocated and passed to the ops.</returns>
    public abstract bool Supports(ElementType type);

    /// <summary>Allocates zero-filled memory.</summary>
    /// <param name="type">The element type.</param>
    /// <param name="shape">The shape; <see cref="DeviceBuffer.Tensor"/> views the whole buffer with it.</param>
    /// <returns>The buffer, owned by the caller.</returns>
    public DeviceBuffer Allocate(ElementType type, TensorShape shape)
    {
        CheckSupported(type, nameof(type));
        return AllocateCore(type, shape);
    }

    /// <summary>Copies host data into backend memory.</summary>
    /// <typeparam name="T">The host type of the destination's element type.</typeparam>
    /// <param name="source">Host data; its length must equal the destination's.</param>
    /// <param name="destination">Backend memory.</param>
    public void Upload<T>(ReadOnlySpan<T> source, DeviceTensor destination) where T : unmanaged
    {
        CheckHost<T>(destination, source.Length, nameof(destination));
        using var _ = Profile(nameof(Upload), destination);
        UploadCore(source, destination);
    }

    /// <summary>Waits for enqueued work, then copies backend memory to the host.</summary>
    /// <typeparam name="T">The host type of the source's element type.</typeparam>
    /// <param name="source">Backend memory.</param>
    /// <param name="destination">Host data; its length must equal the source's.</param>
    public void Download<T>(DeviceTensor source, Span<T> destination) where T : unmanaged
    {
        CheckHost<T>(source, destination.Length, nameof(source));
        using var _ = Profile(nameof(Download), source);
        DownloadCore(source, destination);
    }

    /// <summary>
    /// Copies float32 host data into a floating-point tensor of any element type: as is into fp32, rounded to nearest
    /// even into bf16.
    /// </summary>
    /// <param name="source">Host values; the length must equal the destination's.</param>
    /// <param name="destination">An fp32 or bf16 tensor.</param>
    public void UploadSingles(ReadOnlySpan<float> source, DeviceTensor destination)
    {
        if (destination.ElementType != ElementType.BFloat16)
        {
            Upload(source, destination);
            return;
        }

        SameLength(destination, source.Length, nameof(destination));
        int size = Math.Min(source.Length, 1 << 20);
        var narrow = System.Buffers.ArrayPool<ushort>.Shared.Rent(size); // pooled: generation reads a bf16 model's logits every token
        try
        {
            for (int done = 0; done < source.Length; done += size)
            {
                int n = Math.Min(size, source.Length - done);
                Formats.BFloat16.FromSingle(source.Slice(done, n), narrow.AsSpan(0, n));
                Upload<ushort>(narrow.AsSpan(0, n), destination.View(done, [n]));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<ushort>.Shared.Return(narrow);
        }
    }

    /// <summary>Copies a floating-point tensor of any element type to float32 host data (bf16 widens exactly).</summary>
    /// <param name="source">An fp32 or bf16 tensor.</param>
    /// <param name="destination">Host values; the length must equal the source's.</param>
    public void DownloadSingles(DeviceTensor source, Span<float> destination)
    {
        if (source.ElementType != ElementType.BFloat16)
        {
            Download(source, destination);
            return;
        }

        SameLength(source, destination.Length, nameof(source));
        int size = Math.Min(destination.Length, 1 << 20);
        var wide = System.Buffers.ArrayPool<ushort>.Shared.Rent(size);
        try
        {
            for (int done = 0; done < destination.Length; done += size)
            {
                int n = Math.Min(size, destination.Length - done);
                Download<ushort>(source.View(done, [n]), wide.AsSpan(0, n));
                Formats.BFloat16.ToSingle(wide.AsSpan(0, n), destination.Slice(done, n));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<ushort>.Shared.Return(wide);
        }
    }

    /// <summary>Copies between two ranges of backend memory of the same element type and length.</summary>
    /// <param name="source">The range read.</param>
    /// <param name="destination">The range written.</param>
    public void Copy(DeviceTensor source, DeviceTensor destination)
    {
        Owned(source, nameof(source));
        Owned(destination, nameof(destination));
        SameType(destination, source.ElementType, nameof(destination));
        SameLength(destination, source.Length, nameof(destination));
        using var _ = Profile(nameof(Copy), source);
        CopyCore(source, destination);
    }

    /// <summary>
    /// Copies between floating-point tensors of any two element types: bf16 widens to fp32 exactly; fp32 narrows to
    /// bf16 to nearest even, or, given <paramref name="stochasticSeed"/>, stochastically with
    /// <see cref="Formats.BFloat16.RoundingNoise"/>(element index, seed), so the result does not depend on the backend
    /// or its launch shapes (AdamW writes bf16 parameters from fp32 master weights this way).
    /// </summary>
    /// <param name="source">The values.</param>
    /// <param name="destination">Their copy, the source's length.</param>
    /// <param name="stochasticSeed">The rounding stream for fp32 → bf16; null rounds to nearest even.</param>
    public void Convert(DeviceTensor source, DeviceTensor destination, uint? stochasticSeed = null)
    {
        Real(source, nameof(source));
        Real(destination, nameof(destination));
        SameLength(destination, source.Length, nameof(destination));
        using var _ = Profile(nameof(Convert), source);
        ConvertCore(source, destination, stochasticSeed);
    }

    /// <summary>Sets every element of a floating-point tensor to a value.</summary>
    /// <param name="destination">The tensor.</param>
    /// <param name="value">The value.</param>
    public void Fill(DeviceTensor destination, float value)
    {
        Real(destination, nameof(destination));
        using var _ = Profile(nameof(Fill), destination);
        FillCore(destination, value);
    }

    /// <summary>Waits until all enqueued work is done.</summary>
    public abstract void Synchronize();

    /// <summary>Token plus position embedding: output[b,t,:] = wte[tokens[b,t],:] + wpe[t,:].</summary>
    /// <param name="tokens">(B,T) int32 token ids, each below Vp.</param>
    /// <param name="tokenEmbedding">wte (Vp,C).</param>
    /// <param name="positionEmbedding">wpe (maxT,C), maxT ≥ T; row t is position t.</param>
    /// <param name="output">(B,T,C).</param>
    public void EncoderForward(DeviceTensor tokens, DeviceTensor tokenEmbedding, DeviceTensor positionEmbedding, DeviceTensor output)
    {
        var (b, t, c) = CheckEncoder(tokens, tokenEmbedding, positionEmbedding, nameof(tokenEmbedding), nameof(positionEmbedding));
        Real(output, nameof(output), [b, t, c]);
        using var _ = Profile(nameof(EncoderForward), tokens);
        EncoderForwardCore(tokens, tokenEmbedding, positionEmbedding, output);
    }

    /// <summary>Backward of <see cref="EncoderForward"/>; accumulates into both embedding gradients.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="tokens">(B,T).</param>
    /// <param name="dTokenEmbedding">(Vp,C), accumulated.</param>
    /// <param name="dPositionEmbedding">(maxT,C), accumulated.</param>
    public void EncoderBackward(DeviceTensor dOutput, DeviceTensor tokens, DeviceTensor dTokenEmbedding, DeviceTensor dPositionEmbedding)
    {
        var (b, t, c) = CheckEncoder(tokens, dTokenEmbedding, dPositionEmbedding, nameof(dTokenEmbedding), nameof(dPositionEmbedding));
        Real(dOutput, nameof(dOutput), [b, t, c]);
        using var _ = Profile(nameof(EncoderBackward), tokens);
        EncoderBackwardCore(dOutput, tokens, dTokenEmbedding, dPositionEmbedding);
    }

    /// <summary>LayerNorm over the last dimension with epsilon 1e-5; keeps mean and 1/std for the backward.</summary>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(C).</param>
    /// <param name="bias">(C).</param>
    /// <param name="output">(…,C), the input's shape.</param>
    /// <param name="mean">(…) fp32, one per row.</param>
    /// <param name="reciprocalStd">(…) fp32, one per row.</param>
    public void LayerNormForward(DeviceTensor input, DeviceTensor weight, DeviceTensor bias,
        DeviceTensor output, DeviceTensor mean, DeviceTensor reciprocalStd)
    {
        CheckLayerNorm(input, weight, mean, reciprocalStd);
        Real(bias, nameof(bias), weight.Shape.Dimensions);
        Real(output, nameof(output), input.Shape.Dimensions);
        using var _ = Profile(nameof(LayerNormForward), input);
        LayerNormForwardCore(input, weight, bias, output, mean, reciprocalStd);
    }

    /// <summary>Backward of <see cref="LayerNormForward"/>; accumulates into all three gradients.</summary>
    /// <param name="dOutput">(…,C).</param>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(C).</param>
    /// <param name="mean">(…), from the forward.</param>
    /// <param name="reciprocalStd">(…), from the forward.</param>
    /// <param name="dInput">(…,C), accumulated.</param>
    /// <param name="dWeight">(C), accumulated.</param>
    /// <param name="dBias">(C), accumulated.</param>
    public void LayerNormBackward(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight, DeviceTensor mean,
        DeviceTensor reciprocalStd, DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor dBias)
    {
        CheckLayerNorm(input, weight, mean, reciprocalStd);
        Real(dOutput, nameof(dOutput), input.Shape.Dimensions);
        Real(dInput, nameof(dInput), input.Shape.Dimensions);
        Real(dWeight, nameof(dWeight), weight.Shape.Dimensions);
        Real(dBias, nameof(dBias), weight.Shape.Dimensions);
        using var _ = Profile(nameof(LayerNormBackward), input);
        LayerNormBackwardCore(dOutput, input, weight, mean, reciprocalStd, dInput, dWeight, dBias);
    }

    /// <summary>output = input · weightᵀ + bias, with weight stored (OC,C).</summary>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(OC,C).</param>
    /// <param name="bias">(OC), or null for none.</param>
    /// <param name="output">(…,OC), overwritten.</param>
    public void MatmulForward(DeviceTensor input, DeviceTensor weight, DeviceTensor? bias, DeviceTensor output)
    {
        var (rows, c, oc) = CheckMatmul(input, weight);
        if (bias is { } b)
        {
            Real(b, nameof(bias), [oc]);
        }

        Real(output, nameof(output));
        SameRows(output, rows, oc, nameof(output));
        using var _ = Profile(nameof(MatmulForward), weight, 2.0 * rows * c * oc);
        MatmulForwardCore(input, weight, bias, output);
    }

    /// <summary>Backward of <see cref="MatmulForward"/>; accumulates into all gradients.</summary>
    /// <param name="dOutput">(…,OC).</param>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(OC,C).</param>
    /// <param name="dInput">(…,C), accumulated.</param>
    /// <param name="dWeight">(OC,C), accumulated.</param>
    /// <param name="dBias">(OC), accumulated, or null when the forward had no bias.</param>
    public void MatmulBackward(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight,
        DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor? dBias)
    {
        var (rows, c, oc) = CheckMatmul(input, weight);
        Real(dOutput, nameof(dOutput));
        SameRows(dOutput, rows, oc, nameof(dOutput));
        Real(dInput, nameof(dInput), input.Shape.Dimensions);
        Real(dWeight, nameof(dWeight), weight.Shape.Dimensions);
        if (dBias is { } db)
        {
            Real(db, nameof(dBias), [oc]);
        }

        using var _ = Profile(nameof(MatmulBackward), weight, 4.0 * rows * c * oc);
        MatmulBackwardCore(dOutput, input, weight, dInput, dWeight, dBias);
    }

    /// <summary>
    /// Causal multi-head self-attention with scale 1/sqrt(hs). Keeps the attention probabilities for the backward.
    /// </summary>
    /// <param name="qkv">(B,T,3C): queries, keys and values, each (NH,hs) per position.</param>
    /// <param name="output">(B,T,C), the heads side by side.</param>
    /// <param name="attention">(B,NH,T,T), the softmax rows; entries above the diagonal are zero. Its shape gives NH.</param>
    public void AttentionForward(DeviceTensor qkv, DeviceTensor output, DeviceTensor attention)
    {
        var (b, t, c) = CheckAttention(qkv, attention);
        Real(output, nameof(output), [b, t, c]);
        using var _ = Profile(nameof(AttentionForward), qkv, 2.0 * b * t * (t + 1.0) * c); // QKᵀ and AV over the causal half
        AttentionForwardCore(qkv, output, attention);
    }

    /// <summary>Backward of <see cref="AttentionForward"/>; accumulates into dQkv.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="qkv">(B,T,3C), the forward's input.</param>
    /// <param name="attention">(B,NH,T,T), from the forward.</param>
    /// <param name="dQkv">(B,T,3C), accumulated.</param>
    public void AttentionBackward(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor attention, DeviceTensor dQkv)
    {
        var (b, t, c) = CheckAttention(qkv, attention);
        Real(dOutput, nameof(dOutput), [b, t, c]);
        Real(dQkv, nameof(dQkv), qkv.Shape.Dimensions);
        using var _ = Profile(nameof(AttentionBackward), qkv, 4.0 * b * t * (t + 1.0) * c);
        AttentionBackwardCore(dOutput, qkv, attention, dQkv);
    }

    /// <summary>Whether the backend runs an attention kind; every backend runs <see cref="AttentionKind.Standard"/>.</summary>
    /// <param name="kind">The attention kind.</param>
    /// <returns>True when <see cref="FlashAttentionForward"/> and its backward are implemented (for <see cref="AttentionKind.Flash"/>).</returns>
    public virtual bool Supports(AttentionKind kind) => kind == AttentionKind.Standard;

    /// <summary>
    /// Causal multi-head self-attention as <see cref="AttentionForward"/>, without the probabilities: keeps the
    /// log-sum-exp of each row of scaled scores for <see cref="FlashAttentionBackward"/>.
    /// </summary>
    /// <param name="qkv">(B,T,3C): queries, keys and values, each (NH,hs) per position.</param>
    /// <param name="output">(B,T,C), the heads side by side.</param>
    /// <param name="logSumExp">(B,NH,T) fp32: log Σ_{t2≤t} exp(q_t·k_t2/√hs) per row. Its shape gives NH.</param>
    /// <exception cref="NotSupportedException">The backend does not run flash attention, or not for this head size.</exception>
    public void FlashAttentionForward(DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp)
    {
        var (b, t, c) = CheckFlashAttention(qkv, logSumExp);
        Real(output, nameof(output), [b, t, c]);
        using var _ = Profile(nameof(FlashAttentionForward), qkv, 2.0 * b * t * (t + 1.0) * c);
        FlashAttentionForwardCore(qkv, output, logSumExp);
    }

    /// <summary>Backward of <see cref="FlashAttentionForward"/>, recomputing the probabilities; accumulates into dQkv.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="qkv">(B,T,3C), the forward's input.</param>
    /// <param name="output">(B,T,C), the forward's output.</param>
    /// <param name="logSumExp">(B,NH,T), from the forward.</param>
    /// <param name="dQkv">(B,T,3C), accumulated.</param>
    /// <exception cref="NotSupportedException">The backend does not run flash attention, or not for this head size.</exception>
    public void FlashAttentionBackward(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp, DeviceTensor dQkv)
    {
        var (b, t, c) = CheckFlashAttention(qkv, logSumExp);
        Real(dOutput, nameof(dOutput), [b, t, c]);
        Real(output, nameof(output), [b, t, c]);
        Real(dQkv, nameof(dQkv), qkv.Shape.Dimensions);
        using var _ = Profile(nameof(FlashAttentionBackward), qkv, 4.0 * b * t * (t + 1.0) * c);
        FlashAttentionBackwardCore(dOutput, qkv, output, logSumExp, dQkv);
    }

    /// <summary>
    /// Attention of one new position against a key/value cache (generation with a KV cache): the query is the last
    /// row of the cache, and it attends to every row.
    /// </summary>
    /// <param name="qkvCache">(P+1,3C): the qkv rows of every position so far, the new one (P) last.</param>
    /// <param name="output">(C), the heads side by side.</param>
    /// <param name="heads">NH.</param>
    public void AttentionDecode(DeviceTensor qkvCache, DeviceTensor output, int heads)
    {
        Real(qkvCache, nameof(qkvCache));
        Rank(qkvCache, 2, nameof(qkvCache));
        int c = ThirdOf(qkvCache.Shape[1], nameof(qkvCache));
        CheckHeads(c, heads);
        if (qkvCache.Shape[0] == 0)
        {
            throw new ArgumentException("The cache holds no position.", nameof(qkvCache));
        }

        Real(output, nameof(output));
        SameLength(output, c, nameof(output));
        using var _ = Profile(nameof(AttentionDecode), qkvCache);
        AttentionDecodeCore(qkvCache, output, heads);
    }

    /// <summary>GELU, tanh approximation: 0.5x(1 + tanh(sqrt(2/π)(x + 0.044715x³))).</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="output">The input's shape.</param>
    public void GeluForward(DeviceTensor input, DeviceTensor output)
    {
        Real(input, nameof(input));
        Real(output, nameof(output), input.Shape.Dimensions);
        using var _ = Profile(nameof(GeluForward), input);
        GeluForwardCore(input, output);
    }

    /// <summary>Backward of <see cref="GeluForward"/>; accumulates into dInput.</summary>
    /// <param name="dOutput">The input's shape.</param>
    /// <param name="input">The forward's input.</param>
    /// <param name="dInput">The input's shape, accumulated.</param>
    public void GeluBackward(DeviceTensor dOutput, DeviceTensor input, DeviceTensor dInput)
    {
        Real(input, nameof(input));
        Real(dOutput, nameof(dOutput), input.Shape.Dimensions);
        Real(dInput, nameof(dInput), input.Shape.Dimensions);
        using var _ = Profile(nameof(GeluBackward), input);
        GeluBackwardCore(dOutput, input, dInput);
    }

    /// <summary>
    /// Residual connection: output = a + b. It has no backward op: the gradient of a sum passes to both addends
    /// unchanged, so the model lets one residual-stream gradient flow through the blocks (as llm.c's CUDA trainer).
    /// </summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">a's shape.</param>
    /// <param name="output">a's shape; may be a or b.</param>
    public void ResidualForward(DeviceTensor a, DeviceTensor b, DeviceTensor output)
    {
        Real(a, nameof(a));
        Real(b, nameof(b), a.Shape.Dimensions);
        Real(output, nameof(output), a.Shape.Dimensions);
        using var _ = Profile(nameof(ResidualForward), a);
        ResidualForwardCore(a, b, output);
    }

    /// <summary>
    /// Softmax over the first V of Vp logit columns and the cross-entropy loss of each row.
    /// Padding columns get probability 0.
    /// </summary>
    /// <param name="logits">(…,Vp).</param>
    /// <param name="targets">(…) int32, each below V (on a host-memory backend checked here; elsewhere the caller's duty).</param>
    /// <param name="probabilities">(…,Vp), the logits' shape.</param>
    /// <param name="losses">(…) fp32: -log p[target].</param>
    /// <param name="vocabularySize">V.</param>
    public void SoftmaxCrossEntropyForward(DeviceTensor logits, DeviceTensor targets, DeviceTensor probabilities,
        DeviceTensor losses, int vocabularySize)
    {
        CheckSoftmax(logits, nameof(logits), targets, vocabularySize);
        Real(probabilities, nameof(probabilities), logits.Shape.Dimensions);
        Fp32(losses, nameof(losses));
        SameLength(losses, logits.Shape.Rows, nameof(losses));
        using var _ = Profile(nameof(SoftmaxCrossEntropyForward), logits);
        SoftmaxCrossEntropyForwardCore(logits, targets, probabilities, losses, vocabularySize);
    }

    /// <summary>
    /// Fused backward of softmax and cross-entropy: dLogits[r,v] += (p[r,v] - [v == target]) · lossScale for v &lt; V;
    /// padding columns are left untouched.
    /// </summary>
    /// <param name="probabilities">(…,Vp), from the forward.</param>
    /// <param name="targets">(…).</param>
    /// <param name="dLogits">(…,Vp), accumulated.</param>
    /// <param name="lossScale">The gradient of the total loss with respect to each row's loss (1/(B·T) for a mean).</param>
    /// <param name="vocabularySize">V.</param>
    public void SoftmaxCrossEntropyBackward(DeviceTensor probabilities, DeviceTensor targets, DeviceTensor dLogits,
        float lossScale, int vocabularySize)
    {
        CheckSoftmax(probabilities, nameof(probabilities), targets, vocabularySize);
        Real(dLogits, nameof(dLogits), probabilities.Shape.Dimensions);
        using var _ = Profile(nameof(SoftmaxCrossEntropyBackward), probabilities);
        SoftmaxCrossEntropyBackwardCore(probabilities, targets, dLogits, lossScale, vocabularySize);
    }

    /// <summary>
    /// One AdamW update of a range of parameters, as llm.c: bias-corrected moments and decoupled weight decay,
    /// param -= lr · (m̂ / (sqrt(v̂) + eps) + wd · param).
    /// </summary>
    /// <param name="gradients">Multiplied by <see cref="AdamWStep.GradientScale"/> before use; the parameters' length.</param>
    /// <param name="parameters">Updated.</param>
    /// <param name="firstMoment">fp32 m, the parameters' length, updated.</param>
    /// <param name="secondMoment">fp32 v, the parameters' length, updated.</param>
    /// <param name="step">The step's scalars.</param>
    public void AdamWUpdate(DeviceTensor gradients, DeviceTensor parameters, DeviceTensor firstMoment,
        DeviceTensor secondMoment, AdamWStep step)
    {
        Real(parameters, nameof(parameters));
        Real(gradients, nameof(gradients));
        SameLength(gradients, parameters.Length, nameof(gradients));
        Fp32(firstMoment, nameof(firstMoment));
        SameLength(firstMoment, parameters.Length, nameof(firstMoment));
        Fp32(secondMoment, nameof(secondMoment));
        SameLength(secondMoment, parameters.Length, nameof(secondMoment));
        ArgumentOutOfRangeException.ThrowIfLessThan(step.Step, 1, nameof(step));
        using var _ = Profile(nameof(AdamWUpdate), parameters);
        AdamWUpdateCore(gradients, parameters, firstMoment, secondMoment, step);
    }

    /// <summary>Writes the sum of squares of a tensor into <paramref name="result"/> (for the global gradient norm).</summary>
    /// <param name="values">Any shape.</param>
    /// <param name="result">One fp32 element.</param>
    public void SumOfSquares(DeviceTensor values, DeviceTensor result)
    {
        Real(values, nameof(values));
        Fp32(result, nameof(result));
        SameLength(result, 1, nameof(result));
        using var _ = Profile(nameof(SumOfSquares), values);
        SumOfSquaresCore(values, result);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the backend's resources.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Allocates a zero-filled buffer of a supported type.</summary>
    /// <param name="type">The element type.</param>
    /// <param name="shape">The shape.</param>
    /// <returns>The buffer.</returns>
    protected abstract DeviceBuffer AllocateCore(ElementType type, TensorShape shape);

    /// <summary>Implements <see cref="Upload{T}"/>; <typeparamref name="T"/> matches the element type and the lengths agree.</summary>
    /// <typeparam name="T">The host type.</typeparam>
    /// <param name="source">Host data.</param>
    /// <param name="destination">Backend memory.</param>
    protected abstract void UploadCore<T>(ReadOnlySpan<T> source, DeviceTensor destination) where T : unmanaged;

    /// <summary>Implements <see cref="Download{T}"/>; <typeparamref name="T"/> matches the element type and the lengths agree.</summary>
    /// <typeparam name="T">The host type.</typeparam>
    /// <param name="source">Backend memory.</param>
    /// <param name="destination">Host data.</param>
    protected abstract void DownloadCore<T>(DeviceTensor source, Span<T> destination) where T : unmanaged;

    /// <summary>Implements <see cref="Copy"/>.</summary>
    /// <param name="source">The range read.</param>
    /// <param name="destination">The range written.</param>
    protected abstract void CopyCore(DeviceTensor source, DeviceTensor destination);

    /// <summary>Implements <see cref="Fill"/>.</summary>
    /// <param name="destination">The tensor.</param>
    /// <param name="value">The value.</param>
    protected abstract void FillCore(DeviceTensor destination, float value);

    /// <summary>Implements <see cref="EncoderForward"/>.</summary>
    /// <param name="tokens">(B,T).</param>
    /// <param name="tokenEmbedding">(Vp,C).</param>
    /// <param name="positionEmbedding">(maxT,C).</param>
    /// <param name="output">(B,T,C).</param>
    protected abstract void EncoderForwardCore(DeviceTensor tokens, DeviceTensor tokenEmbedding, DeviceTensor positionEmbedding, DeviceTensor output);

    /// <summary>Implements <see cref="EncoderBackward"/>.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="tokens">(B,T).</param>
    /// <param name="dTokenEmbedding">(Vp,C).</param>
    /// <param name="dPositionEmbedding">(maxT,C).</param>
    protected abstract void EncoderBackwardCore(DeviceTensor dOutput, DeviceTensor tokens, DeviceTensor dTokenEmbedding, DeviceTensor dPositionEmbedding);

    /// <summary>Implements <see cref="LayerNormForward"/>.</summary>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(C).</param>
    /// <param name="bias">(C).</param>
    /// <param name="output">(…,C).</param>
    /// <param name="mean">(…).</param>
    /// <param name="reciprocalStd">(…).</param>
    protected abstract void LayerNormForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor bias,
        DeviceTensor output, DeviceTensor mean, DeviceTensor reciprocalStd);

    /// <summary>Implements <see cref="LayerNormBackward"/>.</summary>
    /// <param name="dOutput">(…,C).</param>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(C).</param>
    /// <param name="mean">(…).</param>
    /// <param name="reciprocalStd">(…).</param>
    /// <param name="dInput">(…,C).</param>
    /// <param name="dWeight">(C).</param>
    /// <param name="dBias">(C).</param>
    protected abstract void LayerNormBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight, DeviceTensor mean,
        DeviceTensor reciprocalStd, DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor dBias);

    /// <summary>Implements <see cref="MatmulForward"/>.</summary>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(OC,C).</param>
    /// <param name="bias">(OC) or null.</param>
    /// <param name="output">(…,OC).</param>
    protected abstract void MatmulForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor? bias, DeviceTensor output);

    /// <summary>Implements <see cref="MatmulBackward"/>.</summary>
    /// <param name="dOutput">(…,OC).</param>
    /// <param name="input">(…,C).</param>
    /// <param name="weight">(OC,C).</param>
    /// <param name="dInput">(…,C).</param>
    /// <param name="dWeight">(OC,C).</param>
    /// <param name="dBias">(OC) or null.</param>
    protected abstract void MatmulBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight,
        DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor? dBias);

    /// <summary>Implements <see cref="AttentionForward"/>.</summary>
    /// <param name="qkv">(B,T,3C).</param>
    /// <param name="output">(B,T,C).</param>
    /// <param name="attention">(B,NH,T,T).</param>
    protected abstract void AttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor attention);

    /// <summary>Implements <see cref="AttentionBackward"/>.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="qkv">(B,T,3C).</param>
    /// <param name="attention">(B,NH,T,T).</param>
    /// <param name="dQkv">(B,T,3C).</param>
    protected abstract void AttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor attention, DeviceTensor dQkv);

    /// <summary>Implements <see cref="Convert"/>; the default handles equal types (a copy) and refuses others, for backends with one floating-point type.</summary>
    /// <param name="source">The values.</param>
    /// <param name="destination">Their copy.</param>
    /// <param name="stochasticSeed">The rounding stream, or null.</param>
    protected virtual void ConvertCore(DeviceTensor source, DeviceTensor destination, uint? stochasticSeed)
    {
        if (source.ElementType != destination.ElementType)
        {
            throw new NotSupportedException($"The {Name} backend does not convert {source.ElementType.ShortName()} to {destination.ElementType.ShortName()}.");
        }

        CopyCore(source, destination);
    }

    /// <summary>Implements <see cref="FlashAttentionForward"/>; the default refuses, for backends without flash attention.</summary>
    /// <param name="qkv">(B,T,3C).</param>
    /// <param name="output">(B,T,C).</param>
    /// <param name="logSumExp">(B,NH,T) fp32.</param>
    protected virtual void FlashAttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp) =>
        throw new NotSupportedException($"The {Name} backend has no flash attention; use standard attention.");

    /// <summary>Implements <see cref="FlashAttentionBackward"/>; the default refuses, for backends without flash attention.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="qkv">(B,T,3C).</param>
    /// <param name="output">(B,T,C).</param>
    /// <param name="logSumExp">(B,NH,T) fp32.</param>
    /// <param name="dQkv">(B,T,3C), accumulated.</param>
    protected virtual void FlashAttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp, DeviceTensor dQkv) =>
        throw new NotSupportedException($"The {Name} backend has no flash attention; use standard attention.");

    /// <summary>Implements <see cref="AttentionDecode"/>.</summary>
    /// <param name="qkvCache">(P+1,3C).</param>
    /// <param name="output">(C).</param>
    /// <param name="heads">NH.</param>
    protected abstract void AttentionDecodeCore(DeviceTensor qkvCache, DeviceTensor output, int heads);

    /// <summary>Implements <see cref="GeluForward"/>.</summary>
    /// <param name="input">Any shape.</param>
    /// <param name="output">The input's shape.</param>
    protected abstract void GeluForwardCore(DeviceTensor input, DeviceTensor output);

    /// <summary>Implements <see cref="GeluBackward"/>.</summary>
    /// <param name="dOutput">The input's shape.</param>
    /// <param name="input">Any shape.</param>
    /// <param name="dInput">The input's shape.</param>
    protected abstract void GeluBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor dInput);

    /// <summary>Implements <see cref="ResidualForward"/>.</summary>
    /// <param name="a">Any shape.</param>
    /// <param name="b">a's shape.</param>
    /// <param name="output">a's shape.</param>
    protected abstract void ResidualForwardCore(DeviceTensor a, DeviceTensor b, DeviceTensor output);

    /// <summary>Implements <see cref="SoftmaxCrossEntropyForward"/>.</summary>
    /// <param name="logits">(…,Vp).</param>
    /// <param name="targets">(…).</param>
    /// <param name="probabilities">(…,Vp).</param>
    /// <param name="losses">(…).</param>
    /// <param name="vocabularySize">V.</param>
    protected abstract void SoftmaxCrossEntropyForwardCore(DeviceTensor logits, DeviceTensor targets, DeviceTensor probabilities,
        DeviceTensor losses, int vocabularySize);

    /// <summary>Implements <see cref="SoftmaxCrossEntropyBackward"/>.</summary>
    /// <param name="probabilities">(…,Vp).</param>
    /// <param name="targets">(…).</param>
    /// <param name="dLogits">(…,Vp).</param>
    /// <param name="lossScale">The scale.</param>
    /// <param name="vocabularySize">V.</param>
    protected abstract void SoftmaxCrossEntropyBackwardCore(DeviceTensor probabilities, DeviceTensor targets, DeviceTensor dLogits,
        float lossScale, int vocabularySize);

    /// <summary>Implements <see cref="AdamWUpdate"/>.</summary>
    /// <param name="gradients">The gradients.</param>
    /// <param name="parameters">The parameters.</param>
    /// <param name="firstMoment">m.</param>
    /// <param name="secondMoment">v.</param>
    /// <param name="step">The scalars.</param>
    protected abstract void AdamWUpdateCore(DeviceTensor gradients, DeviceTensor parameters, DeviceTensor firstMoment,
        DeviceTensor secondMoment, AdamWStep step);

    /// <summary>Implements <see cref="SumOfSquares"/>.</summary>
    /// <param name="values">Any shape.</param>
    /// <param name="result">One element.</param>
    protected abstract void SumOfSquaresCore(DeviceTensor values, DeviceTensor result);

    private OpScope Profile(string op, DeviceTensor operand, double flops = 0) =>
        Observer is null ? default : new OpScope(this, op, operand.Shape, flops);

    /// <summary>Times one op for the <see cref="Observer"/>: a wait before, a wait and the report after.</summary>
    private readonly struct OpScope : IDisposable
    {
        private readonly ComputeBackend? _backend;
        private readonly string _op;
        private readonly TensorShape _operand;
        private readonly double _flops;
        private readonly long _start;

        public OpScope(ComputeBackend backend, string op, TensorShape operand, double flops)
        {
            _backend = backend;
            _op = op;
            _operand = operand;
            _flops = flops;
            backend.Synchronize();
            _start = Stopwatch.GetTimestamp();
        }

        public void Dispose()
        {
            if (_backend?.Observer is { } observer)
            {
                _backend.Synchronize();
                observer.OnOpCompleted(_op, _operand, Stopwatch.GetElapsedTime(_start), _flops);
            }
        }
    }
}
