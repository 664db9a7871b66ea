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
    private DeviceBuffer<float> _dW = null!, _dX = null!, _dX4 = null!, _dWte = null!, _m = null!, _v = null!;
    private DeviceBuffer<int> _targets = null!;

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
        _dW = New(4 * C * C);
        _dX = New(Rows * C);
        _dX4 = New(Rows * 4 * C);
        _dWte = New((long)Vp * C);
        _m = New(12 * C * C);
        _v = New(12 * C * C);
        _targets = _backend.Allocate<int>(Rows);
        _backend.Upload<int>(Enumerable.Range(0, Rows).Select(_ => rng.Next(V)).ToArray(), _targets.View);
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
        _backend.MatmulBackward(_out3.View, _x.View, _w3.View, _dX.View, _dW.Slice(0, 3 * C * C), _b.Slice(0, 3 * C), Rows, C, 3 * C);
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

    [Benchmark]
    public void MatmulForwardAttProj()
    {
        _backend.MatmulForward(_x.View, _w.View, _b.Slice(0, C), _out.View, Rows, C, C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void MatmulBackwardAttProj()
    {
        _backend.MatmulBackward(_out.View, _x.View, _w.View, _dX.View, _dW.Slice(0, C * C), _b.Slice(0, C), Rows, C, C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void MatmulForwardFc()
    {
        _backend.MatmulForward(_x.View, _w4.View, _b.Slice(0, 4 * C), _out4.View, Rows, C, 4 * C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void MatmulBackwardFc()
    {
        _backend.MatmulBackward(_out4.View, _x.View, _w4.View, _dX.View, _dW.View, _b.Slice(0, 4 * C), Rows, C, 4 * C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void MatmulBackwardFcProj()
    {
        _backend.MatmulBackward(_out.View, _x4.View, _w4.View, _dX4.View, _dW.View, _b.Slice(0, C), Rows, 4 * C, C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void ClassifierBackward()
    {
        _backend.MatmulBackward(_logits.View, _x.View, _wte.View, _dX.View, _dWte.View, null, Rows, C, Vp);
        _backend.Synchronize();
    }

    [Benchmark]
    public void LayerNormBackward()
    {
        _backend.LayerNormBackward(_out.View, _x.View, _b.Slice(0, C), _stat1.View, _stat2.View, _dX.View, _b.Slice(C, C), _b.Slice(2 * C, C), Rows, C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void GeluBackward()
    {
        _backend.GeluBackward(_out4.View, _x4.View, _dX4.View, Rows * 4 * C);
        _backend.Synchronize();
    }

    [Benchmark]
    public void SoftmaxCrossEntropyForward()
    {
        _backend.SoftmaxCrossEntropyForward(_logits.View, _targets.View, _dWte.Slice(0, (long)Rows * Vp), _stat1.View, Rows, V, Vp);
        _backend.Synchronize();
    }

    [Benchmark]
    public void SoftmaxCrossEntropyBackward()
    {
        _backend.SoftmaxCrossEntropyBackward(_logits.View, _targets.View, _dWte.Slice(0, (long)Rows * Vp), 1f / Rows, Rows, V, Vp);
        _backend.Synchronize();
    }

    /// <summary>AdamW over one layer's worth of weights (12·C² parameters).</summary>
    [Benchmark]
    public void AdamWUpdate()
    {
        _backend.AdamWUpdate(_dW.View, _m.Slice(0, 4 * C * C), _m.Slice(4 * C * C, 4 * C * C), _v.Slice(0, 4 * C * C),
            new AdamWStep(1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 1f));
        _backend.Synchronize();
    }
}
