using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>LayerNormForward and LayerNormBackward at (B,T,C); baseline: the scalar two-pass forward.</summary>
[MemoryDiagnoser]
public class LayerNormBench : OpBench
{
    private DeviceTensor _input, _weight, _bias, _output, _mean, _rstd, _dInput, _dWeight, _dBias;
    private float[] _hostInput = [], _hostWeight = [], _hostBias = [], _hostOutput = [];

    /// <summary>The straightforward version: mean, variance, then the normalized row, in one thread.</summary>
    [Benchmark(Baseline = true)]
    public void Baseline()
    {
        for (int r = 0; r < Rows; r++)
        {
            float mean = 0, variance = 0;
            for (int i = 0; i < C; i++)
            {
                mean += _hostInput[r * C + i];
            }

            mean /= C;
            for (int i = 0; i < C; i++)
            {
                float d = _hostInput[r * C + i] - mean;
                variance += d * d;
            }

            float rstd = 1f / MathF.Sqrt(variance / C + 1e-5f);
            for (int i = 0; i < C; i++)
            {
                _hostOutput[r * C + i] = (_hostInput[r * C + i] - mean) * rstd * _hostWeight[i] + _hostBias[i];
            }
        }
    }

    [Benchmark]
    public void Forward()
    {
        Be.LayerNormForward(_input, _weight, _bias, _output, _mean, _rstd);
        Be.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Be.LayerNormBackward(_output, _input, _weight, _mean, _rstd, _dInput, _dWeight, _dBias);
        Be.Synchronize();
    }

    protected override void CreateTensors()
    {
        _input = Random([B, T, C]);
        _weight = Random([C]);
        _bias = Random([C]);
        _output = Random([B, T, C]);
        _mean = Random([B, T]);
        _rstd = Random([B, T]);
        _dInput = Random([B, T, C]);
        _dWeight = Random([C]);
        _dBias = Random([C]);
        Be.LayerNormForward(_input, _weight, _bias, _output, _mean, _rstd);
        _hostInput = Host(Rows * C);
        _hostWeight = Host(C);
        _hostBias = Host(C);
        _hostOutput = new float[Rows * C];
    }
}
