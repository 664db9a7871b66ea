using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// Softmax over the first V of Vp columns and cross-entropy. Shapes: logits/probabilities (rows,Vp), targets/losses
/// (rows). One group per row; padding columns get probability 0 and no gradient.
/// </summary>
internal sealed class SoftmaxCrossEntropy
{
    private readonly LaunchShape _shape;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int> _forward;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, float, int, int> _backward;

    public SoftmaxCrossEntropy(Accelerator accelerator, LaunchShape shape)
    {
        _shape = shape;
        _forward = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(ForwardKernel);
        _backward = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, float, int, int>(BackwardKernel);
    }

    public static void ForwardKernel(ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> probabilities, ArrayView<float> losses, int v, int vp)
    {
        var shared = SharedMemory.Allocate<float>(Reduce.MaxWarps);
        int row = Grid.IdxX;
        long start = (long)row * vp;
        float max = float.NegativeInfinity;
        for (int i = Group.IdxX; i < v; i += Group.DimX)
        {
            float x = logits[start + i];
            max = x > max ? x : max;
        }

        max = Reduce.GroupMax(max, shared);
        float sum = 0f;
        for (int i = Group.IdxX; i < v; i += Group.DimX)
        {
            sum += MathF.Exp(logits[start + i] - max);
        }

        sum = Reduce.GroupSum(sum, shared);
        float inv = 1f / sum;
        for (int i = Group.IdxX; i < vp; i += Group.DimX)
        {
            probabilities[start + i] = i < v ? MathF.Exp(logits[start + i] - max) * inv : 0f;
        }

        if (Group.IdxX == 0)
        {
            // -log p[target] from the log-sum-exp, exact even where p[target] underflows
            losses[row] = MathF.Log(sum) + max - logits[start + targets[row]];
        }
    }

    /// <summary>One group per row (so B·T·Vp may pass 2^31): dLogits += (p - 1[col = target]) · scale over the first V columns.</summary>
    public static void BackwardKernel(ArrayView<float> probabilities, ArrayView<int> targets, ArrayView<float> dLogits, float scale, int v, int vp)
    {
        long start = (long)Grid.IdxX * vp;
        int target = targets[Grid.IdxX];
        for (int col = Group.IdxX; col < v; col += Group.DimX)
        {
            float indicator = col == target ? 1f : 0f;
            dLogits[start + col] += (probabilities[start + col] - indicator) * scale;
        }
    }

    public void Forward(AcceleratorStream s, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> probabilities, ArrayView<float> losses,
        int rows, int v, int vp) =>
        _forward(s, _shape.GroupPerRow(rows), logits, targets, probabilities, losses, v, vp);

    public void Backward(AcceleratorStream s, ArrayView<float> probabilities, ArrayView<int> targets, ArrayView<float> dLogits, float scale,
        int rows, int v, int vp) =>
        _backward(s, _shape.GroupPerRow(rows), probabilities, targets, dLogits, scale, v, vp);
}
