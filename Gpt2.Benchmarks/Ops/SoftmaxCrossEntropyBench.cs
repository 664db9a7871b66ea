using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>SoftmaxCrossEntropyForward and SoftmaxCrossEntropyBackward at (B,T,Vp); baseline: the scalar forward.</summary>
[MemoryDiagnoser]
public class SoftmaxCrossEntropyBench : OpBench
{
    private DeviceTensor _logits, _targets, _probabilities, _losses, _dLogits;
    private float[] _hostLogits = [], _hostProbabilities = [], _hostLosses = [];
    private int[] _hostTargets = [];

    /// <summary>The straightforward version: max, exp, sum, scale and the loss per row, in one thread.</summary>
    [Benchmark(Baseline = true)]
    public void Baseline()
    {
        for (int r = 0; r < Rows; r++)
        {
            long row = (long)r * Vp;
            float max = float.NegativeInfinity;
            for (int v = 0; v < V; v++)
            {
                max = MathF.Max(max, _hostLogits[row + v]);
            }

            float sum = 0;
            for (int v = 0; v < V; v++)
            {
                _hostProbabilities[row + v] = MathF.Exp(_hostLogits[row + v] - max);
                sum += _hostProbabilities[row + v];
            }

            for (int v = 0; v < V; v++)
            {
                _hostProbabilities[row + v] /= sum;
            }

            _hostLosses[r] = -MathF.Log(_hostProbabilities[row + _hostTargets[r]]);
        }
    }

    [Benchmark]
    public void Forward()
    {
        Be.SoftmaxCrossEntropyForward(_logits, _targets, _probabilities, _losses, V);
        Be.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Be.SoftmaxCrossEntropyBackward(_probabilities, _targets, _dLogits, 1f / Rows, V);
        Be.Synchronize();
    }

    protected override void CreateTensors()
    {
        _logits = Random([B, T, Vp]);
        _targets = Tokens([B, T], V);
        _probabilities = Random([B, T, Vp]);
        _losses = Random([B, T]);
        _dLogits = Random([B, T, Vp]);
        _hostLogits = Host((long)Rows * Vp);
        _hostProbabilities = new float[(long)Rows * Vp];
        _hostLosses = new float[Rows];
        _hostTargets = Enumerable.Range(0, Rows).Select(i => i * 7919 % V).ToArray();
    }
}
