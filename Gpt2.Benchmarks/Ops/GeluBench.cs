using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>GeluForward and GeluBackward at (B,T,4C); baseline: the scalar tanh forward.</summary>
[MemoryDiagnoser]
public class GeluBench : OpBench
{
    private DeviceTensor _input, _output, _dOutput, _dInput;
    private float[] _hostInput = [], _hostOutput = [];

    /// <summary>The straightforward version: MathF.Tanh per element, in one thread.</summary>
    [Benchmark(Baseline = true)]
    public void Baseline()
    {
        float s = MathF.Sqrt(2f / MathF.PI);
        for (int i = 0; i < _hostInput.Length; i++)
        {
            float x = _hostInput[i];
            _hostOutput[i] = 0.5f * x * (1f + MathF.Tanh(s * (x + 0.044715f * x * x * x)));
        }
    }

    [Benchmark]
    public void Forward()
    {
        Be.GeluForward(_input, _output);
        Be.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Be.GeluBackward(_dOutput, _input, _dInput);
        Be.Synchronize();
    }

    protected override void CreateTensors()
    {
        _input = Random([B, T, 4 * C]);
        _output = Random([B, T, 4 * C]);
        _dOutput = Random([B, T, 4 * C]);
        _dInput = Random([B, T, 4 * C]);
        _hostInput = Host(Rows * 4 * C);
        _hostOutput = new float[Rows * 4 * C];
    }
}
