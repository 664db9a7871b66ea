using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// The sum of squares of a view (for the global gradient norm), in two stages: a fixed number of groups each write a
/// partial sum, then one thread adds the partials in order, so the summation order never depends on the device.
/// </summary>
internal sealed class SumOfSquares : IDisposable
{
    /// <summary>Fixed number of partial sums.</summary>
    public const int Partials = 256;

    private readonly LaunchShape _shape;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> _partialsKernel;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> _sumPartials;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _partials;

    public SumOfSquares(Accelerator accelerator, LaunchShape shape)
    {
        _shape = shape;
        _partialsKernel = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(PartialsKernel);
        _sumPartials = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(SumKernel);
        _partials = accelerator.Allocate1D<float>(Partials);
    }

    /// <summary>Group g sums squares over a grid-stride loop (G = <see cref="Partials"/> groups, coalesced) into partials[g].</summary>
    public static void PartialsKernel(ArrayView<float> values, ArrayView<float> partials)
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
    public static void SumKernel(ArrayView<float> partials, ArrayView<float> result)
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

    public void Compute(AcceleratorStream s, ArrayView<float> values, ArrayView<float> result)
    {
        _partialsKernel(s, new KernelConfig(Partials, _shape.RowGroupSize), values, _partials.View);
        _sumPartials(s, new KernelConfig(1, _shape.WarpSize), _partials.View, result);
    }

    public void Dispose() => _partials.Dispose();
}
