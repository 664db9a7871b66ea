using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>
/// Each op once at GPT-2 124M shapes (one layer's worth, plus the classifier), on the CPU backend and on the ILGPU
/// backend: a CUDA GPU when present, otherwise ILGPU's CPU accelerator, which is slow (one OS thread per GPU
/// thread; pick one with BenchmarkDotNet's <c>--filter</c> and the Backend parameter).
/// </summary>
[MemoryDiagnoser]
public class OpsBench
{
    private IComputeBackend _backend = null!;
    private DeviceBuffer<float> _x = null!, _x3 = null!, _x4 = null!, _w = null!, _w3 = null!, _w4 = null!, _wte = null!, _b = null!;
    private DeviceBuffer<float> _out = null!, _out3 = null!, _out4 = null!, _logits = null!, _att = null!, _stat1 = null!, _stat2 = null!;

    /// <summary>cpu or ilgpu.</summary>
    [Params("cpu", "ilgpu")]
    public string Backend { get; set; } = "cpu";

    [GlobalSetup]
    public void Setup()
    {
        _backend = Backend == "cpu" ? new CpuBackend() : new IlgpuBackend();
        var rng = new Random(1);
        DeviceBuffer<float> New(long n)
        {
            var b = _backend.Allocate<float>(n);
            var host = new float[n];
            for (long i = 0; i < n; i++)
            {
                host[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
            }

            _backend.Upload<float>(host, b.View);
            return b;
        }

        _x = New(Rows * C);
        _x3 = New(Rows * 3 * C);
        _x4 = New(Rows * 4 * C);
        _w = New(C * C);
        _w3 = New(3 * C * C);
        _w4 = New(4 * C * C);
        _wte = New((long)Vp * C);
        _b = New(4 * C);
        _out = New(Rows * C);
        _out3 = New(Rows * 3 * C);
        _out4 = New(Rows * 4 * C);
        _logits = New((long)Rows * Vp);
        _att = New(B * NH * T * T);
        _stat1 = New(Rows);
        _stat2 = New(Rows);
    }

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();

    [Benchmark]
    public void MatmulForwardQkv()
    {
        _backend.MatmulForward(_x.View, _w3.View, _b.Slice(0, 3 * C), _out3.View, Rows, C, 3 * C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void MatmulBackwardQkv()
    {
        _backend.MatmulBackward(_out3.View, _x.View, _w3.View, _out.View, _w3.View, _b.Slice(0, 3 * C), Rows, C, 3 * C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void MatmulForwardFcProj()
    {
        _backend.MatmulForward(_x4.View, _w4.View, _b.Slice(0, C), _out.View, Rows, 4 * C, C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void ClassifierForward()
    {
        _backend.MatmulForward(_x.View, _wte.View, null, _logits.View, Rows, C, Vp);
        _backend.Synchronize();
    }

    [Benchmark]
    public void AttentionForward()
    {
        _backend.AttentionForward(_x3.View, _out.View, _att.View, B, T, C, NH);
        _backend.Synchronize();
    }

    [Benchmark]
    public void AttentionBackward()
    {
        _backend.AttentionBackward(_out.View, _x3.View, _att.View, _out3.View, B, T, C, NH);
        _backend.Synchronize();
    }

    [Benchmark]
    public void LayerNormForward()
    {
        _backend.LayerNormForward(_x.View, _b.Slice(0, C), _b.Slice(C, C), _out.View, _stat1.View, _stat2.View, Rows, C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void GeluForward()
    {
        _backend.GeluForward(_x4.View, _out4.View, Rows * 4 * C);
        _backend.Synchronize();
    }
}
