using Gpt2.Backends;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>One AdamW update over (count) parameters, in llm.c's float arithmetic.</summary>
internal static unsafe class AdamW
{
    public static void Update(CpuParallel parallel, float* gradients, float* parameters, float* m, float* v, long count, AdamWStep s)
    {
        float beta1Correction = 1.0f - MathF.Pow(s.Beta1, s.Step);
        float beta2Correction = 1.0f - MathF.Pow(s.Beta2, s.Step);
        parallel.ForRanges(count, 1 << 14, (start, end) =>
        {
            for (long i = start; i < end; i++)
            {
                float g = gradients[i] * s.GradientScale;
                float mi = s.Beta1 * m[i] + (1.0f - s.Beta1) * g;
                float vi = s.Beta2 * v[i] + (1.0f - s.Beta2) * g * g;
                m[i] = mi;
                v[i] = vi;
                float mHat = mi / beta1Correction;
                float vHat = vi / beta2Correction;
                parameters[i] -= s.LearningRate * (mHat / (MathF.Sqrt(vHat) + s.Epsilon) + s.WeightDecay * parameters[i]);
            }
        });
    }
}
