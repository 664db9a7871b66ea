using System.Diagnostics;
using Gpt2.Backends;

namespace Gpt2.Samples.Bench;

/// <summary>
/// A decorator that times every op of another backend, synchronizing before and after each so that asynchronous
/// GPU work is charged to the op that enqueued it. For profiling only: the synchronization itself costs time.
/// </summary>
internal sealed class TimedBackend(IComputeBackend inner) : IComputeBackend
{
    private readonly Dictionary<string, (int Calls, double Ms)> _times = [];
    private readonly Dictionary<string, double> _flops = [];

    public string Name => inner.Name;

    public IComputeBackend Inner => inner;

    public IReadOnlyDictionary<string, (int Calls, double Ms)> Times => _times;

    /// <summary>Floating-point operations per op name, for the ops whose count is known from their shapes.</summary>
    public IReadOnlyDictionary<string, double> Flops => _flops;

    public void Reset()
    {
        _times.Clear();
        _flops.Clear();
    }

    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged => inner.Allocate<T>(length);

    public void Upload<T>(ReadOnlySpan<T> source, DeviceView<T> destination) where T : unmanaged
    {
        var clock = Start();
        inner.Upload(source, destination);
        Stop("Upload", clock);
    }

    public void Download<T>(DeviceView<T> source, Span<T> destination) where T : unmanaged
    {
        var clock = Start();
        inner.Download(source, destination);
        Stop("Download", clock);
    }

    public void Copy<T>(DeviceView<T> source, DeviceView<T> destination) where T : unmanaged => Time("Copy", () => inner.Copy(source, destination));

    public void Fill(DeviceView<float> destination, float value) => Time("Fill", () => inner.Fill(destination, value));

    public void Synchronize() => inner.Synchronize();

    public void EncoderForward(DeviceView<int> tokens, DeviceView<float> tokenEmbedding, DeviceView<float> positionEmbedding, DeviceView<float> output, int batchSize, int sequenceLength, int channels) =>
        Time("EncoderForward", () => inner.EncoderForward(tokens, tokenEmbedding, positionEmbedding, output, batchSize, sequenceLength, channels));

    public void EncoderBackward(DeviceView<float> dOutput, DeviceView<int> tokens, DeviceView<float> dTokenEmbedding, DeviceView<float> dPositionEmbedding, int batchSize, int sequenceLength, int channels) =>
        Time("EncoderBackward", () => inner.EncoderBackward(dOutput, tokens, dTokenEmbedding, dPositionEmbedding, batchSize, sequenceLength, channels));

    public void LayerNormForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float> bias, DeviceView<float> output, DeviceView<float> mean, DeviceView<float> reciprocalStd, int rows, int channels) =>
        Time("LayerNormForward", () => inner.LayerNormForward(input, weight, bias, output, mean, reciprocalStd, rows, channels));

    public void LayerNormBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight, DeviceView<float> mean, DeviceView<float> reciprocalStd, DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float> dBias, int rows, int channels) =>
        Time("LayerNormBackward", () => inner.LayerNormBackward(dOutput, input, weight, mean, reciprocalStd, dInput, dWeight, dBias, rows, channels));

    public void MatmulForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float>? bias, DeviceView<float> output, int rows, int channels, int outputChannels) =>
        Time(outputChannels > 8 * channels ? "ClassifierForward" : "MatmulForward", () => inner.MatmulForward(input, weight, bias, output, rows, channels, outputChannels),
            2.0 * rows * channels * outputChannels);

    public void MatmulBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight, DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float>? dBias, int rows, int channels, int outputChannels) =>
        Time(outputChannels > 8 * channels ? "ClassifierBackward" : "MatmulBackward", () => inner.MatmulBackward(dOutput, input, weight, dInput, dWeight, dBias, rows, channels, outputChannels),
            4.0 * rows * channels * outputChannels);

    public void AttentionForward(DeviceView<float> qkv, DeviceView<float> output, DeviceView<float> attention, int batchSize, int sequenceLength, int channels, int heads) =>
        Time("AttentionForward", () => inner.AttentionForward(qkv, output, attention, batchSize, sequenceLength, channels, heads),
            2.0 * batchSize * sequenceLength * (sequenceLength + 1.0) * channels); // QKᵀ and AV over the causal half

    public void AttentionBackward(DeviceView<float> dOutput, DeviceView<float> qkv, DeviceView<float> attention, DeviceView<float> dQkv, int batchSize, int sequenceLength, int channels, int heads) =>
        Time("AttentionBackward", () => inner.AttentionBackward(dOutput, qkv, attention, dQkv, batchSize, sequenceLength, channels, heads),
            4.0 * batchSize * sequenceLength * (sequenceLength + 1.0) * channels);

    public void AttentionDecode(DeviceView<float> qkvCache, DeviceView<float> output, int position, int channels, int heads) =>
        Time("AttentionDecode", () => inner.AttentionDecode(qkvCache, output, position, channels, heads));

    public void GeluForward(DeviceView<float> input, DeviceView<float> output, long count) => Time("GeluForward", () => inner.GeluForward(input, output, count));

    public void GeluBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> dInput, long count) => Time("GeluBackward", () => inner.GeluBackward(dOutput, input, dInput, count));

    public void ResidualForward(DeviceView<float> a, DeviceView<float> b, DeviceView<float> output, long count) => Time("ResidualForward", () => inner.ResidualForward(a, b, output, count));

    public void ResidualBackward(DeviceView<float> dOutput, DeviceView<float> dA, DeviceView<float> dB, long count) => Time("ResidualBackward", () => inner.ResidualBackward(dOutput, dA, dB, count));

    public void SoftmaxCrossEntropyForward(DeviceView<float> logits, DeviceView<int> targets, DeviceView<float> probabilities, DeviceView<float> losses, int rows, int vocabularySize, int paddedVocabularySize) =>
        Time("SoftmaxCrossEntropyForward", () => inner.SoftmaxCrossEntropyForward(logits, targets, probabilities, losses, rows, vocabularySize, paddedVocabularySize));

    public void SoftmaxCrossEntropyBackward(DeviceView<float> probabilities, DeviceView<int> targets, DeviceView<float> dLogits, float lossScale, int rows, int vocabularySize, int paddedVocabularySize) =>
        Time("SoftmaxCrossEntropyBackward", () => inner.SoftmaxCrossEntropyBackward(probabilities, targets, dLogits, lossScale, rows, vocabularySize, paddedVocabularySize));

    public void AdamWUpdate(DeviceView<float> gradients, DeviceView<float> parameters, DeviceView<float> firstMoment, DeviceView<float> secondMoment, AdamWStep step) =>
        Time("AdamWUpdate", () => inner.AdamWUpdate(gradients, parameters, firstMoment, secondMoment, step));

    public void SumOfSquares(DeviceView<float> values, DeviceView<float> result) => Time("SumOfSquares", () => inner.SumOfSquares(values, result));

    public void Dispose() => inner.Dispose();

    private long Start()
    {
        inner.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    private void Stop(string op, long start)
    {
        inner.Synchronize();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        _times[op] = _times.TryGetValue(op, out var t) ? (t.Calls + 1, t.Ms + ms) : (1, ms);
    }

    private void Time(string op, Action action, double flops = 0)
    {
        long start = Start();
        action();
        Stop(op, start);
        if (flops > 0)
        {
            _flops[op] = _flops.GetValueOrDefault(op) + flops;
        }
    }
}
