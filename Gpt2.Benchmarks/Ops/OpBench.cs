using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;

namespace Gpt2.Benchmarks.Ops;

/// <summary>
/// What every op benchmark shares: the backend (cpu, or ilgpu: a CUDA GPU when present, otherwise ILGPU's CPU
/// accelerator, which is slow: one OS thread per GPU thread; pick one with <c>--filter</c>), random tensors that it
/// owns, and the random host arrays of the straightforward scalar version each suite keeps as its baseline.
/// </summary>
public abstract class OpBench
{
    private readonly List<DeviceBuffer> _buffers = [];
    private readonly Random _rng = new(1);

    /// <summary>cpu or ilgpu.</summary>
    [Params("cpu", "ilgpu")]
    public string Backend { get; set; } = "cpu";

    /// <summary>The backend of this run.</summary>
    protected ComputeBackend Be { get; private set; } = null!;

    /// <summary>Creates the backend, then the suite's tensors.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Be = Backend == "cpu" ? new CpuBackend() : new IlgpuBackend();
        CreateTensors();
    }

    /// <summary>Frees the tensors and the backend.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }

        _buffers.Clear();
        Be.Dispose();
    }

    /// <summary>Allocates the suite's tensors with <see cref="Random(TensorShape)"/>.</summary>
    protected abstract void CreateTensors();

    /// <summary>A backend tensor of uniform values in [-0.05, 0.05).</summary>
    protected DeviceTensor Random(TensorShape shape)
    {
        var buffer = Be.Allocate(ElementType.Float32, shape);
        _buffers.Add(buffer);
        Be.Upload<float>(Host(shape.Length), buffer.Tensor);
        return buffer.Tensor;
    }

    /// <summary>A backend tensor of token ids below <paramref name="below"/>.</summary>
    protected DeviceTensor Tokens(TensorShape shape, int below)
    {
        var buffer = Be.Allocate(ElementType.Int32, shape);
        _buffers.Add(buffer);
        var ids = new int[shape.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = _rng.Next(below);
        }

        Be.Upload<int>(ids, buffer.Tensor);
        return buffer.Tensor;
    }

    /// <summary>A host array of uniform values in [-0.05, 0.05), for a baseline.</summary>
    protected float[] Host(long length)
    {
        var values = new float[length];
        for (long i = 0; i < length; i++)
        {
            values[i] = (float)(_rng.NextDouble() - 0.5) * 0.1f;
        }

        return values;
    }
}
