using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Residual connection output = a + b, elementwise over (count).</summary>
internal sealed class Residual
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> _forward;

    public Residual(Accelerator accelerator)
    {
        _forward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ForwardKernel);
    }

    public static void ForwardKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output) => output[i] = a[i] + b[i];

    public void Forward(AcceleratorStream s, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output, long count) =>
        _forward(s, Checked.Size(count), a, b, output);
}
