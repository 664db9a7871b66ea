using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Sets every element of a view to a value (zero by the driver's memset).</summary>
internal sealed class Fill
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, float> _fill;

    public Fill(Accelerator accelerator)
    {
        _fill = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, float>(FillKernel);
    }

    public static void FillKernel(Index1D i, ArrayView<float> destination, float value) => destination[i] = value;

    public void Run(AcceleratorStream s, ArrayView<float> destination, float value)
    {
        if (value == 0f)
        {
            destination.MemSetToZero(s);
            return;
        }

        _fill(s, Checked.Size(destination.Length), destination, value);
    }
}
