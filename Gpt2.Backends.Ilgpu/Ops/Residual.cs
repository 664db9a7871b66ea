using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Residual connection output = a + b, elementwise over (count).</summary>
internal sealed class Residual
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> _backward;

    public Residual(Accelerator accelerator)
    {
        _forward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ForwardKernel);
        _backward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BackwardKernel);
    }

    public static void ForwardKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output) => output[i] = a[i] + b[i];

    public static void BackwardKernel(Index1D i, ArrayView<float> dOutput, ArrayView<float> dA, ArrayView<float> dB)
    {
        float d = dOutput[i];
        dA[i] += d;
        dB[i] += d;
    }

    public void Forward(AcceleratorStream s, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output, long count) =>
        _forward(s, Checked.Size(count), a, b, output);

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> dA, ArrayView<float> dB, long count) =>
        _backward(s, Checked.Size(count), dOutput, dA, dB);
}
