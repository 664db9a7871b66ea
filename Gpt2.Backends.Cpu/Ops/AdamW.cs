using System.Numerics;
using Gpt2.Backends;

namespace Gpt2.Backends.Cpu.Ops;

/// <summary>One AdamW update over (count) parameters, in llm.c's float arithmetic, a vector (8 lanes with AVX2, 4 with SSE or AdvSimd) at a time.</summary>
internal static unsafe class AdamW
{
    public static void Update(CpuParallel parallel, float* gradients, float* parameters, float* m, float* v, long count, AdamWStep s)
    {
        float beta1Correction = 1.0f - MathF.Pow(s.Beta1, s.Step);
        float beta2Correction = 1.0f - MathF.Pow(s.Beta2, s.Step);
        parallel.ForRanges(count, 1 << 14, (start, end) =>
        {
            var scale = Vector.Create(s.GradientScale);
            var b1 = Vector.Create(s.Beta1);
            var b2 = Vector.Create(s.Beta2);
            var c1 = Vector.Create(1.0f - s.Beta1);
            var c2 = Vector.Create(1.0f - s.Beta2);
            var bc1 = Vector.Create(beta1Correction);
            var bc2 = Vector.Create(beta2Correction);
            var eps = Vector.Create(s.Epsilon);
            var lr = Vector.Create(s.LearningRate);
            var wd = Vector.Create(s.WeightDecay);
            long i = start;
            for (; i + Vector<float>.Count <= end; i += Vector<float>.Count)
            {
                var g = Vector.Load(gradients + i) * scale;
                var mi = b1 * Vector.Load(m + i) + c1 * g;
                var vi = b2 * Vector.Load(v + i) + c2 * g * g;
                mi.Store(m + i);
                vi.Store(v + i);
                var p = Vector.Load(parameters + i);
                var update = (mi / bc1) / (Vector.SquareRoot(vi / bc2) + eps) + wd * p;
                (p - lr * update).Store(parameters + i);
            }

            for (; i < end; i++)
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
