using Gpt2.Backends;
using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>The scalars of one update, with the bias corrections computed on the host.</summary>
internal struct AdamWArgs
{
    public float LearningRate, Beta1, Beta2, Epsilon, WeightDecay, Beta1Correction, Beta2Correction, GradientScale;
}

/// <summary>One AdamW update over (count) parameters, as llm.c, elementwise.</summary>
internal sealed class AdamW
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWArgs> _update;

    public AdamW(Accelerator accelerator) =>
        _update = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWArgs>(UpdateKernel);

    public static void UpdateKernel(Index1D i, ArrayView<float> gradients, ArrayView<float> parameters, ArrayView<float> m, ArrayView<float> v, AdamWArgs a)
    {
        float g = gradients[i] * a.GradientScale;
        float mi = a.Beta1 * m[i] + (1f - a.Beta1) * g;
        float vi = a.Beta2 * v[i] + (1f - a.Beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mHat = mi / a.Beta1Correction;
        float vHat = vi / a.Beta2Correction;
        float p = parameters[i];
        parameters[i] = p - a.LearningRate * (mHat / (MathF.Sqrt(vHat) + a.Epsilon) + a.WeightDecay * p);
    }

    public void Update(AcceleratorStream s, ArrayView<float> gradients, ArrayView<float> parameters, ArrayView<float> m, ArrayView<float> v, AdamWStep step)
    {
        var args = new AdamWArgs
        {
            LearningRate = step.LearningRate, Beta1 = step.Beta1, Beta2 = step.Beta2, Epsilon = step.Epsilon, WeightDecay = step.WeightDecay,
            Beta1Correction = 1f - MathF.Pow(step.Beta1, step.Step), Beta2Correction = 1f - MathF.Pow(step.Beta2, step.Step),
            GradientScale = step.GradientScale,
        };
        _update(s, Checked.Size(parameters.Length), gradients, parameters, m, v, args);
    }
}
