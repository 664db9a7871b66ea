using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// Column sums over many rows (bias and LayerNorm gradients) in two stages with a fixed split: threads sum chunks of
/// <see cref="RowsPerChunk"/> rows into partials, then one thread per column adds the partials in chunk order.
/// The result is the same on every run and every device, with no atomics.
/// </summary>
internal sealed class ColumnSum : IDisposable
{
    public const int RowsPerChunk = 64;

    private readonly ScratchBuffer _scratch;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, int> _partials;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, int> _sum;

    public ColumnSum(Accelerator accelerator)
    {
        _scratch = new ScratchBuffer(accelerator);
        _partials = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(PartialsKernel);
        _sum = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(SumKernel);
    }

    public static int Chunks(int rows) => (rows + RowsPerChunk - 1) / RowsPerChunk;

    /// <summary>Stage 1: thread (chunk, c) sums its chunk of rows of x (rows, C).</summary>
    public static void PartialsKernel(Index1D i, ArrayView<float> x, ArrayView<float> partials, int rows, int c)
    {
        int chunk = i / c, k = i % c;
        int r0 = chunk * RowsPerChunk;
        int r1 = r0 + RowsPerChunk < rows ? r0 + RowsPerChunk : rows;
        float sum = 0f;
        for (int r = r0; r < r1; r++)
        {
            sum += x[(long)r * c + k];
        }

        partials[i] = sum;
    }

    /// <summary>Stage 2: destination[c] += Σ chunks partials[chunk, c], in chunk order.</summary>
    public static void SumKernel(Index1D k, ArrayView<float> partials, ArrayView<float> destination, int chunks, int c)
    {
        float sum = 0f;
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            sum += partials[(long)chunk * c + k];
        }

        destination[k] += sum;
    }

    /// <summary>destination (C) += Σ rows x (rows, C).</summary>
    public void Accumulate(AcceleratorStream s, ArrayView<float> x, ArrayView<float> destination, int rows, int c)
    {
        int chunks = Chunks(rows);
        var partials = Scratch((long)chunks * c);
        _partials(s, Checked.Size((long)chunks * c), x, partials, rows, c);
        SumPartials(s, partials, destination, chunks, c);
    }

    public void SumPartials(AcceleratorStream s, ArrayView<float> partials, ArrayView<float> destination, int chunks, int c) =>
        _sum(s, c, partials, destination, chunks, c);

    /// <summary>Scratch memory reused by every column sum (ops run in stream order, so one buffer suffices).</summary>
    public ArrayView<float> Scratch(long length) => _scratch.View(length);

    public void Dispose() => _scratch.Dispose();
}
