using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>GELU, tanh approximation, elementwise over (count); tanh through <see cref="AccurateTanh.Of"/> for accuracy.</summary>
internal sealed class Gelu
{
    private const float ScalingFactor = 0.7978845608f; // sqrt(2/π)

    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> _backward;

    public Gelu(Accelerator accelerator)
    {
        _forward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>>(ForwardKernel);
        _backward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BackwardKernel);
    }

    public static void ForwardKernel(Index1D i, ArrayView<float> input, ArrayView<float> output)
    {
        float x = input[i];
        output[i] = 0.5f * x * (1f + AccurateTanh.Of(ScalingFactor * (x + 0.044715f * x * x * x)));
    }

    public static void BackwardKernel(Index1D i, ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> dInput)
    {
        float x = input[i];
        float th = AccurateTanh.Of(ScalingFactor * (x + 0.044715f * x * x * x));
        float local = 0.5f * (1f + th) + x * 0.5f * (1f - th * th) * ScalingFactor * (1f + 3f * 0.044715f * x * x);
        dInput[i] += local * dOutput[i];
    }

    public void Forward(AcceleratorStream s, ArrayView<float> input, ArrayView<float> output, long count) =>
        _forward(s, Checked.Size(count), input, output);

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> dInput, long count) =>
        _backward(s, Checked.Size(count), dOutput, input, dInput);
}
