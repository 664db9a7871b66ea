using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// LayerNorm over C with ε = 1e-5; one warp per row with shuffle reductions. Shapes: input/output (rows,C),
/// weight/bias (C), mean/rstd (rows). The weight and bias gradients sum over rows in two deterministic stages.
/// </summary>
internal sealed class LayerNorm
{
    private readonly LaunchShape _shape;
    private readonly ColumnSum _columns;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _forward;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _backwardInput;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _backwardPartials;

    public LayerNorm(Accelerator accelerator, LaunchShape shape, ColumnSum columns)
    {
        _shape = shape;
        _columns = columns;
        _forward = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ForwardKernel);
        _backwardInput = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BackwardInputKernel);
        _backwardPartials = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BackwardPartialsKernel);
    }

    public static void ForwardKernel(ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> output,
        ArrayView<float> mean, ArrayView<float> rstd, int rows, int c)
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= rows)
        {
            return;
        }

        long start = (long)row * c;
        float sum = 0f;
        for (int k = Warp.LaneIdx; k < c; k += Warp.WarpSize)
        {
            sum += input[start + k];
        }

        float m = Reduce.WarpSum(sum) / c;
        float var = 0f;
        for (int k = Warp.LaneIdx; k < c; k += Warp.WarpSize)
        {
            float d = input[start + k] - m;
            var += d * d;
        }

        float s = 1f / MathF.Sqrt(Reduce.WarpSum(var) / c + 1e-5f);
        for (int k = Warp.LaneIdx; k < c; k += Warp.WarpSize)
        {
            output[start + k] = (input[start + k] - m) * s * weight[k] + bias[k];
        }

        if (Warp.IsFirstLane)
        {
            mean[row] = m;
            rstd[row] = s;
        }
    }

    public static void BackwardInputKernel(ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dInput, int rows, int c)
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= rows)
        {
            return;
        }

        long start = (long)row * c;
        float m = mean[row], s = rstd[row];
        float a = 0f, b = 0f;
        for (int k = Warp.LaneIdx; k < c; k += Warp.WarpSize)
        {
            float norm = (input[start + k] - m) * s;
            float dnorm = weight[k] * dOutput[start + k];
            a += dnorm;
            b += dnorm * norm;
        }

        a = Reduce.WarpSum(a) / c;
        b = Reduce.WarpSum(b) / c;
        for (int k = Warp.LaneIdx; k < c; k += Warp.WarpSize)
        {
            float norm = (input[start + k] - m) * s;
            float dnorm = weight[k] * dOutput[start + k];
            dInput[start + k] += (dnorm - a - norm * b) * s;
        }
    }

    /// <summary>Stage 1 of dWeight/dBias: thread (chunk, c) sums one chunk of rows into partials (2, chunks, C).</summary>
    public static void BackwardPartialsKernel(Index1D i, ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> mean,
        ArrayView<float> rstd, ArrayView<float> partials, int rows, int c)
    {
        int chunk = i / c, k = i % c;
        int r0 = chunk * ColumnSum.RowsPerChunk;
        int r1 = r0 + ColumnSum.RowsPerChunk < rows ? r0 + ColumnSum.RowsPerChunk : rows;
        float dw = 0f, db = 0f;
        for (int r = r0; r < r1; r++)
        {
            float d = dOutput[(long)r * c + k];
            db += d;
            dw += (input[(long)r * c + k] - mean[r]) * rstd[r] * d;
        }

        int chunks = (rows + ColumnSum.RowsPerChunk - 1) / ColumnSum.RowsPerChunk;
        partials[i] = dw;
        partials[(long)chunks * c + i] = db;
    }

    public void Forward(AcceleratorStream s, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> output,
        ArrayView<float> mean, ArrayView<float> rstd, int rows, int c) =>
        _forward(s, _shape.WarpPerRow(rows), input, weight, bias, output, mean, rstd, rows, c);

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> dInput, ArrayView<float> dWeight, ArrayView<float> dBias, int rows, int c)
    {
        _backwardInput(s, _shape.WarpPerRow(rows), dOutput, input, weight, mean, rstd, dInput, rows, c);
        int chunks = ColumnSum.Chunks(rows);
        var partials = _columns.Scratch(2L * chunks * c);
        _backwardPartials(s, Checked.Size((long)chunks * c), dOutput, input, mean, rstd, partials, rows, c);
        _columns.SumPartials(s, partials.SubView(0, (long)chunks * c), dWeight, chunks, c);
        _columns.SumPartials(s, partials.SubView((long)chunks * c, (long)chunks * c), dBias, chunks, c);
    }
}
