using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Token plus position embedding. Shapes: tokens (B,T), wte (Vp,C), wpe (maxT,C), output (B,T,C).</summary>
internal sealed class Encoder
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> _forward;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, int, int> _backwardPosition;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _backwardToken;

    public Encoder(Accelerator accelerator)
    {
        _forward = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ForwardKernel);
        _backwardPosition = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(BackwardPositionKernel);
        _backwardToken = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(BackwardTokenKernel);
    }

    /// <summary>One thread per output element.</summary>
    public static void ForwardKernel(Index1D i, ArrayView<int> tokens, ArrayView<float> wte, ArrayView<float> wpe, ArrayView<float> output, int t, int c)
    {
        int bt = i / c, k = i % c;
        output[i] = wte[(long)tokens[bt] * c + k] + wpe[(long)(bt % t) * c + k];
    }

    /// <summary>One thread per (t, c) of dwpe, summing over b in order.</summary>
    public static void BackwardPositionKernel(Index1D i, ArrayView<float> dOutput, ArrayView<float> dWpe, int b, int t, int c)
    {
        int ti = i / c, k = i % c;
        float sum = 0f;
        for (int bi = 0; bi < b; bi++)
        {
            sum += dOutput[((long)bi * t + ti) * c + k];
        }

        dWpe[i] += sum;
    }

    /// <summary>
    /// One thread per channel walks every position in order: positions that share a token add into the same
    /// row, so splitting positions among threads would need atomics and lose determinism.
    /// </summary>
    public static void BackwardTokenKernel(Index1D k, ArrayView<float> dOutput, ArrayView<int> tokens, ArrayView<float> dWte, int bt, int c)
    {
        for (int i = 0; i < bt; i++)
        {
            dWte[(long)tokens[i] * c + k] += dOutput[(long)i * c + k];
        }
    }

    public void Forward(AcceleratorStream s, ArrayView<int> tokens, ArrayView<float> wte, ArrayView<float> wpe, ArrayView<float> output, int b, int t, int c) =>
        _forward(s, Checked.Size((long)b * t * c), tokens, wte, wpe, output, t, c);

    public void Backward(AcceleratorStream s, ArrayView<float> dOutput, ArrayView<int> tokens, ArrayView<float> dWte, ArrayView<float> dWpe, int b, int t, int c)
    {
        _backwardPosition(s, Checked.Size((long)t * c), dOutput, dWpe, b, t, c);
        _backwardToken(s, c, dOutput, tokens, dWte, b * t, c);
    }
}
