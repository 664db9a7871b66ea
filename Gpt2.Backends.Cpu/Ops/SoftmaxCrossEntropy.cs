using System.Numerics.Tensors;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// Softmax over the first V of Vp columns and cross-entropy. Shapes: logits/probabilities (rows,Vp),
/// targets/losses (rows). Padding columns get probability 0 and, in the backward, no gradient. Rows are independent
/// tasks; within a row the vectorized primitives run in a fixed order.
/// </summary>
internal static unsafe class SoftmaxCrossEntropy
{
    public static void Forward(CpuParallel parallel, float* logits, int* targets, float* probabilities, float* losses,
        int rows, int v, int vp)
    {
        parallel.ForRanges(rows, 1, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                var x = new ReadOnlySpan<float>(logits + r * vp, v);
                var p = new Span<float>(probabilities + r * vp, v);
                // subtracting the max only keeps exp in range; it cancels in the ratio
                float max = TensorPrimitives.Max(x);
                double sum = SoftmaxExp.ExpSum(logits + r * vp, max, probabilities + r * vp, v);
                TensorPrimitives.Multiply(p, (float)(1.0 / sum), p);
                new Span<float>(probabilities + r * vp + v, vp - v).Clear();

                // -log p[target] from the log-sum-exp, exact even where p[target] underflows
                losses[r] = (float)(Math.Log(sum) + max - x[targets[r]]);
            }
        });
    }

    public static void Backward(CpuParallel parallel, float* probabilities, int* targets, float* dLogits, float lossScale,
        int rows, int v, int vp)
    {
        parallel.ForRanges(rows, 1, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                var d = new Span<float>(dLogits + r * vp, v);
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(probabilities + r * vp, v), lossScale, d, d);
                d[targets[r]] -= lossScale;
            }
        });
    }
}
