using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Model;

namespace Gpt2.Benchmarks;

/// <summary>
/// Inference with the KV cache: one token fed per operation (the time per token; tokens/s is its inverse), over a
/// 64-token sequence of a random-init model. ilgpu is CUDA when present.
/// </summary>
public class InferenceBench
{
    private const int Tokens = 64;
    private ComputeBackend _backend = null!;
    private Gpt2Model _model = null!;
    private InferenceSession _session = null!;
    private int[] _tokens = null!;

    /// <summary>Model descriptor; d12 is GPT-2 124M.</summary>
    [Params("d12")]
    public string Model { get; set; } = "d12";

    /// <summary>cpu or ilgpu.</summary>
    [Params("cpu")]
    public string Backend { get; set; } = "cpu";

    [GlobalSetup]
    public void Setup()
    {
        _backend = Backend == "cpu" ? new CpuBackend() : new IlgpuBackend();
        _model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor(Model), _backend);
        _session = new InferenceSession(_model, Tokens);
        var rng = new Random(1);
        _tokens = Enumerable.Range(0, Tokens).Select(_ => rng.Next(_model.Config.VocabularySize)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _model.Dispose();
        _backend.Dispose();
    }

    /// <summary>A whole 64-token sequence, token by token; BenchmarkDotNet reports the time per token.</summary>
    [Benchmark(OperationsPerInvoke = Tokens)]
    public float NextToken()
    {
        _session.Reset();
        float last = 0;
        foreach (int token in _tokens)
        {
            last = _session.Next(token)[0];
        }

        return last;
    }
}
