namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// Softmax over the first V of Vp columns and cross-entropy. Shapes: logits/probabilities (rows,Vp),
/// targets/losses (rows). Padding columns get probability 0 and, in the backward, no gradient.
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
                float* x = logits + r * vp;
                float* p = probabilities + r * vp;
                // subtracting the max only keeps exp in range; it cancels in the ratio
                float max = float.NegativeInfinity;
                for (int i = 0; i < v; i++)
                {
                    max = MathF.Max(max, x[i]);
                }

                double sum = 0;
                for (int i = 0; i < v; i++)
                {
                    float e = MathF.Exp(x[i] - max);
                    p[i] = e;
                    sum += e;
                }

                float inv = (float)(1.0 / sum);
                for (int i = 0; i < v; i++)
                {
                    p[i] *= inv;
                }

                for (int i = v; i < vp; i++)
                {
                    p[i] = 0f;
                }

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
                float* p = probabilities + r * vp;
                float* d = dLogits + r * vp;
                int target = targets[r];
                for (int i = 0; i < v; i++)
                {
                    float indicator = i == target ? 1.0f : 0.0f;
                    d[i] += (p[i] - indicator) * lossScale;
                }
            }
        });
    }
}
