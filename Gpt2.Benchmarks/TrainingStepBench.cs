using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Model;
using Gpt2.Optimization;

namespace Gpt2.Benchmarks;

/// <summary>One full training step (forward, zero grad, backward, AdamW) of a random-init model; ilgpu is CUDA when present.</summary>
[MemoryDiagnoser]
public class TrainingStepBench
{
    private ComputeBackend _backend = null!;
    private Gpt2Model _model = null!;
    private AdamW _adamw = null!;
    private int[] _inputs = null!, _targets = null!;

    /// <summary>Model descriptor; d12 is GPT-2 124M.</summary>
    [Params("d12")]
    public string Model { get; set; } = "d12";

    [Params(4)]
    public int B { get; set; }

    /// <summary>cpu or ilgpu.</summary>
    [Params("cpu")]
    public string Backend { get; set; } = "cpu";

    [Params(64)]
    public int T { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _backend = Backend == "cpu" ? new CpuBackend() : new IlgpuBackend();
        var config = Gpt2Config.FromDescriptor(Model);
        _model = Gpt2Model.CreateRandom(config, _backend);
        _adamw = new AdamW(_model, new AdamWOptions { WeightDecay = 0.0f });
        var rng = new Random(1);
        _inputs = Enumerable.Range(0, B * T).Select(_ => rng.Next(config.VocabularySize)).ToArray();
        _targets = Enumerable.Range(0, B * T).Select(_ => rng.Next(config.VocabularySize)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adamw.Dispose();
        _model.Dispose();
        _backend.Dispose();
    }

    [Benchmark]
    public float Step()
    {
        float loss = _model.Forward(_inputs, _targets, B, T);
        _model.ZeroGrad();
        _model.Backward();
        _adamw.Step(1e-4f);
        _backend.Synchronize();
        return loss;
    }
}
