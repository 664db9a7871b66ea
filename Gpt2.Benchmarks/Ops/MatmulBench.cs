using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>MatmulForward and MatmulBackward at each of GPT-2 124M's five matmul shapes; baseline: the scalar triple loop.</summary>
[MemoryDiagnoser]
public class MatmulBench : OpBench
{
    private DeviceTensor _input, _weight, _output, _dInput, _dWeight;
    private DeviceTensor? _bias, _dBias;
    private float[] _hostInput = [], _hostWeight = [], _hostOutput = [];

    /// <summary>qkv (C→3C), attproj (C→C), fc (C→4C), fcproj (4C→C), classifier (C→Vp, no bias).</summary>
    [Params("qkv", "attproj", "fc", "fcproj", "classifier")]
    public string Shape { get; set; } = "qkv";

    private (int C, int OC) Channels => Shape switch
    {
        "qkv" => (C, 3 * C),
        "attproj" => (C, C),
        "fc" => (C, 4 * C),
        "fcproj" => (4 * C, C),
        _ => (C, Vp),
    };

    /// <summary>The straightforward version: one dot product per output, in one thread.</summary>
    [Benchmark(Baseline = true)]
    public void Baseline()
    {
        var (c, oc) = Channels;
        for (int r = 0; r < Rows; r++)
        {
            for (int o = 0; o < oc; o++)
            {
                float sum = 0;
                for (int i = 0; i < c; i++)
                {
                    sum += _hostInput[r * c + i] * _hostWeight[(long)o * c + i];
                }

                _hostOutput[(long)r * oc + o] = sum;
            }
        }
    }

    [Benchmark]
    public void Forward()
    {
        Be.MatmulForward(_input, _weight, _bias, _output);
        Be.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Be.MatmulBackward(_output, _input, _weight, _dInput, _dWeight, _dBias);
        Be.Synchronize();
    }

    protected override void CreateTensors()
    {
        var (c, oc) = Channels;
        _input = Random([B, T, c]);
        _weight = Random([oc, c]);
        _output = Random([B, T, oc]);
        _dInput = Random([B, T, c]);
        _dWeight = Random([oc, c]);
        _bias = Shape == "classifier" ? null : Random([oc]);
        _dBias = Shape == "classifier" ? null : Random([oc]);
        _hostInput = Host((long)Rows * c);
        _hostWeight = Host((long)oc * c);
        _hostOutput = new float[(long)Rows * oc];
    }
}
