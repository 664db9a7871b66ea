using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Fill and the sum of squares (for the global gradient norm).</summary>
internal sealed class Elementwise : IDisposable
{
    /// <summary>Fixed number of partial sums, so the summation order never depends on the device.</summary>
    public const int Partials = 256;

    private readonly LaunchShape _shape;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, float> _fill;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> _partialSquares;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> _sumPartials;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _partials;

    public Elementwise(Accelerator accelerator, LaunchShape shape)
    {
        _shape = shape;
        _fill = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, float>(FillKernel);
        _partialSquares = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(PartialSquaresKernel);
        _sumPartials = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(SumPartialsKernel);
        _partials = accelerator.Allocate1D<float>(Partials);
    }

    public static void FillKernel(Index1D i, ArrayView<float> destination, float value) => destination[i] = value;

    /// <summary>Group g sums squares over a grid-stride loop (G = <see cref="Partials"/> groups, coalesced) into partials[g].</summary>
    public static void PartialSquaresKernel(ArrayView<float> values, ArrayView<float> partials)
    {
        var shared = SharedMemory.Allocate<float>(Reduce.MaxWarps);
        float sum = 0f;
        for (long i = (long)Grid.IdxX * Group.DimX + Group.IdxX; i < values.Length; i += (long)Group.DimX * Partials)
        {
            float x = values[i];
            sum += x * x;
        }

        sum = Reduce.GroupSum(sum, shared);
        if (Group.IdxX == 0)
        {
            partials[Grid.IdxX] = sum;
        }
    }

    /// <summary>One thread adds the partials in order.</summary>
    public static void SumPartialsKernel(ArrayView<float> partials, ArrayView<float> result)
    {
        if (Group.IdxX == 0)
        {
            float sum = 0f;
            for (int i = 0; i < Partials; i++)
            {
                sum += partials[i];
            }

            result[0] = sum;
        }
    }

    public void Fill(AcceleratorStream s, ArrayView<float> destination, float value)
    {
        if (value == 0f)
        {
            destination.MemSetToZero(s);
            return;
        }

        _fill(s, Checked.Size(destination.Length), destination, value);
    }

    public void SumOfSquares(AcceleratorStream s, ArrayView<float> values, ArrayView<float> result)
    {
        _partialSquares(s, new KernelConfig(Partials, _shape.RowGroupSize), values, _partials.View);
        _sumPartials(s, new KernelConfig(1, _shape.WarpSize), _partials.View, result);
    }

    public void Dispose() => _partials.Dispose();
}
