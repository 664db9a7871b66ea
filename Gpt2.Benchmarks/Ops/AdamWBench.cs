using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>AdamWUpdate over one layer's worth of weights (12·C² parameters); baseline: the scalar update.</summary>
[MemoryDiagnoser]
public class AdamWBench : OpBench
{
    private const int Count = 12 * C * C;
    private static readonly AdamWStep Step = new(1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 1f);
    private DeviceTensor _gradients, _parameters, _firstMoment, _secondMoment;
    private float[] _hostGradients = [], _hostParameters = [], _hostFirst = [], _hostSecond = [];

    /// <summary>The straightforward version: llm.c's update loop, in one thread.</summary>
    [Benchmark(Baseline = true)]
    public void Baseline()
    {
        var s = Step;
        float c1 = 1f - MathF.Pow(s.Beta1, s.Step), c2 = 1f - MathF.Pow(s.Beta2, s.Step);
        for (int i = 0; i < Count; i++)
        {
            float g = _hostGradients[i] * s.GradientScale;
            float m = s.Beta1 * _hostFirst[i] + (1 - s.Beta1) * g;
            float v = s.Beta2 * _hostSecond[i] + (1 - s.Beta2) * g * g;
            _hostFirst[i] = m;
            _hostSecond[i] = v;
            _hostParameters[i] -= s.LearningRate * (m / c1 / (MathF.Sqrt(v / c2) + s.Epsilon) + s.WeightDecay * _hostParameters[i]);
        }
    }

    [Benchmark]
    public void Update()
    {
        Be.AdamWUpdate(_gradients, _parameters, _firstMoment, _secondMoment, Step);
        Be.Synchronize();
    }

    protected override void CreateTensors()
    {
        _gradients = Random([Count]);
        _parameters = Random([Count]);
        _firstMoment = Random([Count]);
        _secondMoment = Random([Count]);
        _hostGradients = Host(Count);
        _hostParameters = Host(Count);
        _hostFirst = Host(Count);
        _hostSecond = new float[Count];
    }
}
