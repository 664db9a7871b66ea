using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// Attention of one new position against a KV cache (generation). Shapes: qkvCache (position+1, 3C), output (C).
/// One group per head: scores into scratch, a group softmax, then one thread per output channel.
/// </summary>
internal sealed class AttentionDecode : IDisposable
{
    private readonly LaunchShape _shape;
    private readonly ScratchBuffer _scores;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _forward;

    public AttentionDecode(Accelerator accelerator, LaunchShape shape)
    {
        _shape = shape;
        _scores = new ScratchBuffer(accelerator);
        _forward = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ForwardKernel);
    }

    public static void ForwardKernel(ArrayView<float> qkvCache, ArrayView<float> output, ArrayView<float> scores, int position, int c, int nh)
    {
        var shared = SharedMemory.Allocate<float>(Reduce.MaxWarps);
        int h = Grid.IdxX, hs = c / nh;
        float scale = 1f / MathF.Sqrt(hs);
        long q = (long)position * 3 * c + h * hs;
        long s = (long)h * (position + 1);
        float max = float.NegativeInfinity;
        for (int t2 = Group.IdxX; t2 <= position; t2 += Group.DimX)
        {
            long k = (long)t2 * 3 * c + c + h * hs;
            float dot = 0f;
            for (int i = 0; i < hs; i++)
            {
                dot += qkvCache[q + i] * qkvCache[k + i];
            }

            dot *= scale;
            scores[s + t2] = dot;
            max = dot > max ? dot : max;
        }

        max = Reduce.GroupMax(max, shared);
        float sum = 0f;
        for (int t2 = Group.IdxX; t2 <= position; t2 += Group.DimX)
        {
            float e = MathF.Exp(scores[s + t2] - max);
            scores[s + t2] = e;
            sum += e;
        }

        float inv = 1f / Reduce.GroupSum(sum, shared); // its barriers also publish the scores
        for (int i = Group.IdxX; i < hs; i += Group.DimX)
        {
            float acc = 0f;
            for (int t2 = 0; t2 <= position; t2++)
            {
                acc += scores[s + t2] * qkvCache[(long)t2 * 3 * c + 2 * c + h * hs + i];
            }

            output[h * hs + i] = acc * inv;
        }
    }

    public void Forward(AcceleratorStream stream, ArrayView<float> qkvCache, ArrayView<float> output, int position, int c, int nh) =>
        _forward(stream, _shape.GroupPerRow(nh), qkvCache, output, _scores.View((long)nh * (position + 1)), position, c, nh);

    public void Dispose() => _scores.Dispose();
}
