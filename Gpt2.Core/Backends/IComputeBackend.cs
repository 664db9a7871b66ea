namespace Gpt2.Backends;

/// <summary>
/// The seam between the GPT-2 model and the hardware. A backend owns memory and runs every op of
/// GPT-2 training on it.
/// </summary>
/// <remarks>
/// <para>
/// Ops are enqueued: a backend may run them asynchronously, in order. Only
/// <see cref="Download{T}"/> and <see cref="Synchronize"/> wait for the work before them.
/// </para>
/// <para>
/// Argument order is inputs, then outputs, then sizes. Shapes use B batch, T time, C channels,
/// NH heads, OC output channels, V vocabulary, Vp padded vocabulary; <c>rows</c> is B*T.
/// Every <c>...Backward</c> op accumulates (<c>+=</c>) into its gradient outputs, so that
/// gradients from several uses of a tensor add up; callers zero them first.
/// </para>
/// </remarks>
public interface IComputeBackend : IDisposable
{
    /// <summary>A short name for logs, for example <c>cpu</c>.</summary>
    string Name { get; }

    /// <summary>Allocates zero-filled memory.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="length">Number of elements.</param>
    /// <returns>The buffer, owned by the caller.</returns>
    DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged;

    /// <summary>Copies host data into backend memory.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="source">Host data; its length must equal the destination's.</param>
    /// <param name="destination">Backend memory.</param>
    void Upload<T>(ReadOnlySpan<T> source, DeviceView<T> destination) where T : unmanaged;

    /// <summary>Waits for enqueued work, then copies backend memory to the host.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="source">Backend memory.</param>
    /// <param name="destination">Host data; its length must equal the source's.</param>
    void Download<T>(DeviceView<T> source, Span<T> destination) where T : unmanaged;

    /// <summary>Copies between two ranges of backend memory.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="source">The range read.</param>
    /// <param name="destination">The range written, of the same length.</param>
    void Copy<T>(DeviceView<T> source, DeviceView<T> destination) where T : unmanaged;

    /// <summary>Sets every element of a range to a value.</summary>
    /// <param name="destination">The range.</param>
    /// <param name="value">The value.</param>
    void Fill(DeviceView<float> destination, float value);

    /// <summary>Waits until all enqueued work is done.</summary>
    void Synchronize();

    /// <summary>Token plus position embedding: output[b,t,:] = wte[tokens[b,t],:] + wpe[t,:].</summary>
    /// <param name="tokens">(B,T) token ids, each below Vp.</param>
    /// <param name="tokenEmbedding">wte (Vp,C).</param>
    /// <param name="positionEmbedding">wpe (maxT,C), maxT &gt;= T.</param>
    /// <param name="output">(B,T,C).</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="channels">C.</param>
    void EncoderForward(DeviceView<int> tokens, DeviceView<float> tokenEmbedding, DeviceView<float> positionEmbedding,
        DeviceView<float> output, int batchSize, int sequenceLength, int channels);

    /// <summary>Backward of <see cref="EncoderForward"/>; accumulates into both embedding gradients.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="tokens">(B,T).</param>
    /// <param name="dTokenEmbedding">(Vp,C), accumulated.</param>
    /// <param name="dPositionEmbedding">(maxT,C), accumulated.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="channels">C.</param>
    void EncoderBackward(DeviceView<float> dOutput, DeviceView<int> tokens, DeviceView<float> dTokenEmbedding,
        DeviceView<float> dPositionEmbedding, int batchSize, int sequenceLength, int channels);

    /// <summary>LayerNorm over the last dimension with epsilon 1e-5; keeps mean and 1/std for the backward.</summary>
    /// <param name="input">(rows,C).</param>
    /// <param name="weight">(C).</param>
    /// <param name="bias">(C).</param>
    /// <param name="output">(rows,C).</param>
    /// <param name="mean">(rows).</param>
    /// <param name="reciprocalStd">(rows).</param>
    /// <param name="rows">B*T.</param>
    /// <param name="channels">C.</param>
    void LayerNormForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float> bias,
        DeviceView<float> output, DeviceView<float> mean, DeviceView<float> reciprocalStd, int rows, int channels);

    /// <summary>Backward of <see cref="LayerNormForward"/>; accumulates into all three gradients.</summary>
    /// <param name="dOutput">(rows,C).</param>
    /// <param name="input">(rows,C).</param>
    /// <param name="weight">(C).</param>
    /// <param name="mean">(rows), from the forward.</param>
    /// <param name="reciprocalStd">(rows), from the forward.</param>
    /// <param name="dInput">(rows,C), accumulated.</param>
    /// <param name="dWeight">(C), accumulated.</param>
    /// <param name="dBias">(C), accumulated.</param>
    /// <param name="rows">B*T.</param>
    /// <param name="channels">C.</param>
    void LayerNormBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> mean, DeviceView<float> reciprocalStd, DeviceView<float> dInput, DeviceView<float> dWeight,
        DeviceView<float> dBias, int rows, int channels);

    /// <summary>output = input · weightᵀ + bias, with weight stored (OC,C).</summary>
    /// <param name="input">(rows,C).</param>
    /// <param name="weight">(OC,C).</param>
    /// <param name="bias">(OC), or null for none.</param>
    /// <param name="output">(rows,OC), overwritten.</param>
    /// <param name="rows">B*T.</param>
    /// <param name="channels">C.</param>
    /// <param name="outputChannels">OC.</param>
    void MatmulForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float>? bias,
        DeviceView<float> output, int rows, int channels, int outputChannels);

    /// <summary>Backward of <see cref="MatmulForward"/>; accumulates into all gradients.</summary>
    /// <param name="dOutput">(rows,OC).</param>
    /// <param name="input">(rows,C).</param>
    /// <param name="weight">(OC,C).</param>
    /// <param name="dInput">(rows,C), accumulated.</param>
    /// <param name="dWeight">(OC,C), accumulated.</param>
    /// <param name="dBias">(OC), accumulated, or null when the forward had no bias.</param>
    /// <param name="rows">B*T.</param>
    /// <param name="channels">C.</param>
    /// <param name="outputChannels">OC.</param>
    void MatmulBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float>? dBias, int rows, int channels, int outputChannels);

    /// <summary>
    /// Causal multi-head self-attention with scale 1/sqrt(hs). Keeps the attention probabilities for the backward.
    /// </summary>
    /// <param name="qkv">(B,T,3C): queries, keys and values, each (NH,hs) per position.</param>
    /// <param name="output">(B,T,C), the heads side by side.</param>
    /// <param name="attention">(B,NH,T,T), the softmax rows; entries above the diagonal are zero.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="channels">C.</param>
    /// <param name="heads">NH.</param>
    void AttentionForward(DeviceView<float> qkv, DeviceView<float> output, DeviceView<float> attention,
        int batchSize, int sequenceLength, int channels, int heads);

    /// <summary>Backward of <see cref="AttentionForward"/>; accumulates into dQkv.</summary>
    /// <param name="dOutput">(B,T,C).</param>
    /// <param name="qkv">(B,T,3C), the forward's input.</param>
    /// <param name="attention">(B,NH,T,T), from the forward.</param>
    /// <param name="dQkv">(B,T,3C), accumulated.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="channels">C.</param>
    /// <param name="heads">NH.</param>
    void AttentionBackward(DeviceView<float> dOutput, DeviceView<float> qkv, DeviceView<float> attention,
        DeviceView<float> dQkv, int batchSize, int sequenceLength, int channels, int heads);

    /// <summary>
    /// Attention of one new position against a key/value cache (generation with a KV cache): the query is row
    /// <paramref name="position"/> of the cache, and it attends to rows 0..position.
    /// </summary>
    /// <param name="qkvCache">(position+1, 3C): the qkv rows of every position so far, the new one last.</param>
    /// <param name="output">(C), the heads side by side.</param>
    /// <param name="position">The new position.</param>
    /// <param name="channels">C.</param>
    /// <param name="heads">NH.</param>
    void AttentionDecode(DeviceView<float> qkvCache, DeviceView<float> output, int position, int channels, int heads);

    /// <summary>GELU, tanh approximation: 0.5x(1 + tanh(sqrt(2/π)(x + 0.044715x³))).</summary>
    /// <param name="input">(count).</param>
    /// <param name="output">(count).</param>
    /// <param name="count">Number of elements.</param>
    void GeluForward(DeviceView<float> input, DeviceView<float> output, long count);

    /// <summary>Backward of <see cref="GeluForward"/>; accumulates into dInput.</summary>
    /// <param name="dOutput">(count).</param>
    /// <param name="input">(count), the forward's input.</param>
    /// <param name="dInput">(count), accumulated.</param>
    /// <param name="count">Number of elements.</param>
    void GeluBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> dInput, long count);

    /// <summary>Residual connection: output = a + b.</summary>
    /// <param name="a">(count).</param>
    /// <param name="b">(count).</param>
    /// <param name="output">(count).</param>
    /// <param name="count">Number of elements.</param>
    void ResidualForward(DeviceView<float> a, DeviceView<float> b, DeviceView<float> output, long count);

    /// <summary>Backward of <see cref="ResidualForward"/>: dA += dOutput and dB += dOutput.</summary>
    /// <param name="dOutput">(count).</param>
    /// <param name="dA">(count), accumulated.</param>
    /// <param name="dB">(count), accumulated.</param>
    /// <param name="count">Number of elements.</param>
    void ResidualBackward(DeviceView<float> dOutput, DeviceView<float> dA, DeviceView<float> dB, long count);

    /// <summary>
    /// Softmax over the first V of Vp logit columns and the cross-entropy loss of each row.
    /// Padding columns get probability 0.
    /// </summary>
    /// <param name="logits">(rows,Vp).</param>
    /// <param name="targets">(rows), each below V.</param>
    /// <param name="probabilities">(rows,Vp).</param>
    /// <param name="losses">(rows): -log p[target].</param>
    /// <param name="rows">B*T.</param>
    /// <param name="vocabularySize">V.</param>
    /// <param name="paddedVocabularySize">Vp.</param>
    void SoftmaxCrossEntropyForward(DeviceView<float> logits, DeviceView<int> targets, DeviceView<float> probabilities,
        DeviceView<float> losses, int rows, int vocabularySize, int paddedVocabularySize);

    /// <summary>
    /// Fused backward of softmax and cross-entropy: dLogits[r,v] += (p[r,v] - [v == target]) · lossScale for v &lt; V;
    /// padding columns are left untouched.
    /// </summary>
    /// <param name="probabilities">(rows,Vp), from the forward.</param>
    /// <param name="targets">(rows).</param>
    /// <param name="dLogits">(rows,Vp), accumulated.</param>
    /// <param name="lossScale">The gradient of the total loss with respect to each row's loss (1/(B*T) for a mean).</param>
    /// <param name="rows">B*T.</param>
    /// <param name="vocabularySize">V.</param>
    /// <param name="paddedVocabularySize">Vp.</param>
    void SoftmaxCrossEntropyBackward(DeviceView<float> probabilities, DeviceView<int> targets, DeviceView<float> dLogits,
        float lossScale, int rows, int vocabularySize, int paddedVocabularySize);

    /// <summary>
    /// One AdamW update of a range of parameters, as llm.c: bias-corrected moments and decoupled weight decay,
    /// param -= lr · (m̂ / (sqrt(v̂) + eps) + wd · param).
    /// </summary>
    /// <param name="gradients">(count), multiplied by <see cref="AdamWStep.GradientScale"/> before use.</param>
    /// <param name="parameters">(count), updated.</param>
    /// <param name="firstMoment">(count) m, updated.</param>
    /// <param name="secondMoment">(count) v, updated.</param>
    /// <param name="step">The step's scalars.</param>
    void AdamWUpdate(DeviceView<float> gradients, DeviceView<float> parameters, DeviceView<float> firstMoment,
        DeviceView<float> secondMoment, AdamWStep step);

    /// <summary>Writes the sum of squares of a range into <paramref name="result"/>[0] (for the global gradient norm).</summary>
    /// <param name="values">The range.</param>
    /// <param name="result">One element.</param>
    void SumOfSquares(DeviceView<float> values, DeviceView<float> result);
}
