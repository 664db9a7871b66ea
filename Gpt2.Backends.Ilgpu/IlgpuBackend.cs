using System.Runtime.InteropServices;
using Gpt2.Backends.Ilgpu.Ops;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Gpt2.Backends.Ilgpu;

/// <summary>
/// GPT-2 training in C# kernels compiled by ILGPU: to PTX on NVIDIA GPUs, or run by ILGPU's CPU accelerator.
/// Kernels are compiled once per backend; every op is enqueued on one stream, so the host only waits in
/// <see cref="Download{T}"/> and <see cref="Synchronize"/>.
/// </summary>
public sealed class IlgpuBackend : IComputeBackend
{
    /// <summary>The CPU accelerator's simulated device: warps of 4 and groups of 16 threads, each an OS thread, so tests stay fast.</summary>
    internal static readonly CPUDevice TestCpuDevice = new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 2);

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly ColumnSum _columns;
    private readonly Ops.Encoder _encoder;
    private readonly Ops.LayerNorm _layerNorm;
    private readonly Ops.Matmul _matmul;
    private readonly Ops.Attention _attention;
    private readonly Ops.AttentionDecode _decode;
    private readonly Ops.Gelu _gelu;
    private readonly Ops.Residual _residual;
    private readonly Ops.SoftmaxCrossEntropy _softmax;
    private readonly Ops.AdamW _adamw;
    private readonly Elementwise _elementwise;
    private readonly CuBlas.CuBlasMatmul? _cublas;

    /// <summary>Creates the backend and compiles its kernels.</summary>
    /// <param name="options">Device and matmul engine; defaults to the first CUDA GPU, else the CPU accelerator, and our GEMM kernel.</param>
    /// <exception cref="InvalidOperationException">A CUDA device or cuBLAS was requested and is not available.</exception>
    public IlgpuBackend(IlgpuBackendOptions? options = null)
    {
        Options = options ?? new IlgpuBackendOptions();
        NativeLibraries.Register();
        _context = Context.Create(b => b.Cuda().CPU(TestCpuDevice).EnableAlgorithms().Optimize(OptimizationLevel.O2));
        try
        {
            bool hasCuda = _context.GetCudaDevices().Count > 0;
            bool useCuda = Options.Device switch
            {
                IlgpuDeviceKind.Cuda => hasCuda ? true : throw new InvalidOperationException("No CUDA device found (is the NVIDIA driver's libcuda.so.1 installed?)."),
                IlgpuDeviceKind.Cpu => false,
                _ => hasCuda,
            };
            _accelerator = useCuda ? _context.CreateCudaAccelerator(0) : _context.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel);
            _stream = _accelerator.DefaultStream;
            if (Options.Matmul != MatmulEngine.Kernel)
            {
                if (_accelerator is not CudaAccelerator cuda)
                {
                    throw new InvalidOperationException($"The {Options.Matmul} matmul engine needs a CUDA device.");
                }

                _cublas = new CuBlas.CuBlasMatmul(cuda, Options.Matmul == MatmulEngine.CuBlasTf32);
            }

            var shape = new LaunchShape(_accelerator);
            _columns = new ColumnSum(_accelerator);
            _encoder = new Ops.Encoder(_accelerator);
            _layerNorm = new Ops.LayerNorm(_accelerator, shape, _columns);
            _matmul = new Ops.Matmul(_accelerator, shape, _columns, _cublas);
            _attention = new Ops.Attention(_accelerator, shape, _matmul);
            _decode = new Ops.AttentionDecode(_accelerator, shape);
            _gelu = new Ops.Gelu(_accelerator);
            _residual = new Ops.Residual(_accelerator);
            _softmax = new Ops.SoftmaxCrossEntropy(_accelerator, shape);
            _adamw = new Ops.AdamW(_accelerator);
            _elementwise = new Elementwise(_accelerator, shape);
        }
        catch
        {
            _cublas?.Dispose();
            _accelerator?.Dispose();
            _context.Dispose();
            throw;
        }
    }

    /// <summary>The options the backend was created with.</summary>
    public IlgpuBackendOptions Options { get; }

    /// <inheritdoc/>
    public string Name => _accelerator is CudaAccelerator ? "ilgpu-cuda" : "ilgpu-cpu";

    /// <summary>The accelerator's name, for example the GPU model.</summary>
    public string DeviceName => _accelerator.Name;

    /// <summary>True when the kernels run on a CUDA GPU.</summary>
    public bool IsCuda => _accelerator is CudaAccelerator;

    /// <inheritdoc/>
    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged => new IlgpuBuffer<T>(this, _accelerator, length);

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> source, DeviceView<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(source.Length, destination.Length, nameof(source));
        if (source.Length > 0)
        {
            View(destination).CopyFromCPU(_stream, ref MemoryMarshal.GetReference(source), source.Length);
        }
    }

    /// <inheritdoc/>
    public void Download<T>(DeviceView<T> source, Span<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(destination.Length, source.Length, nameof(destination));
        if (destination.Length > 0)
        {
            View(source).CopyToCPU(_stream, ref MemoryMarshal.GetReference(destination), destination.Length);
        }
    }

    /// <inheritdoc/>
    public void Copy<T>(DeviceView<T> source, DeviceView<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(source.Length, destination.Length, nameof(source));
        View(source).CopyTo(_stream, View(destination));
    }

    /// <inheritdoc/>
    public void Fill(DeviceView<float> destination, float value) => _elementwise.Fill(_stream, View(destination), value);

    /// <inheritdoc/>
    public void Synchronize() => _stream.Synchronize();

    /// <inheritdoc/>
    public void EncoderForward(DeviceView<int> tokens, DeviceView<float> tokenEmbedding, DeviceView<float> positionEmbedding,
        DeviceView<float> output, int batchSize, int sequenceLength, int channels)
    {
        OpShapes.EncoderForward(tokens, tokenEmbedding, positionEmbedding, output, batchSize, sequenceLength, channels);
        _encoder.Forward(_stream, View(tokens), View(tokenEmbedding), View(positionEmbedding), View(output), batchSize, sequenceLength, channels);
    }

    /// <inheritdoc/>
    public void EncoderBackward(DeviceView<float> dOutput, DeviceView<int> tokens, DeviceView<float> dTokenEmbedding,
        DeviceView<float> dPositionEmbedding, int batchSize, int sequenceLength, int channels)
    {
        OpShapes.EncoderBackward(dOutput, tokens, dTokenEmbedding, dPositionEmbedding, batchSize, sequenceLength, channels);
        _encoder.Backward(_stream, View(dOutput), View(tokens), View(dTokenEmbedding), View(dPositionEmbedding), batchSize, sequenceLength, channels);
    }

    /// <inheritdoc/>
    public void LayerNormForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float> bias,
        DeviceView<float> output, DeviceView<float> mean, DeviceView<float> reciprocalStd, int rows, int channels)
    {
        OpShapes.LayerNormForward(input, weight, bias, output, mean, reciprocalStd, rows, channels);
        _layerNorm.Forward(_stream, View(input), View(weight), View(bias), View(output), View(mean), View(reciprocalStd), rows, channels);
    }

    /// <inheritdoc/>
    public void LayerNormBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> mean, DeviceView<float> reciprocalStd, DeviceView<float> dInput, DeviceView<float> dWeight,
        DeviceView<float> dBias, int rows, int channels)
    {
        OpShapes.LayerNormBackward(dOutput, input, weight, mean, reciprocalStd, dInput, dWeight, dBias, rows, channels);
        _layerNorm.Backward(_stream, View(dOutput), View(input), View(weight), View(mean), View(reciprocalStd),
            View(dInput), View(dWeight), View(dBias), rows, channels);
    }

    /// <inheritdoc/>
    public void MatmulForward(DeviceView<float> input, DeviceView<float> weight, DeviceView<float>? bias,
        DeviceView<float> output, int rows, int channels, int outputChannels)
    {
        OpShapes.MatmulForward(input, weight, bias, output, rows, channels, outputChannels);
        ArrayView<float>? b = null;
        if (bias is { } bv)
        {
            b = View(bv);
        }

        _matmul.Forward(_stream, View(input), View(weight), b, View(output), rows, channels, outputChannels);
    }

    /// <inheritdoc/>
    public void MatmulBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> weight,
        DeviceView<float> dInput, DeviceView<float> dWeight, DeviceView<float>? dBias, int rows, int channels, int outputChannels)
    {
        OpShapes.MatmulBackward(dOutput, input, weight, dInput, dWeight, dBias, rows, channels, outputChannels);
        ArrayView<float>? db = null;
        if (dBias is { } dbv)
        {
            db = View(dbv);
        }

        _matmul.Backward(_stream, View(dOutput), View(input), View(weight), View(dInput), View(dWeight), db, rows, channels, outputChannels);
    }

    /// <inheritdoc/>
    public void AttentionForward(DeviceView<float> qkv, DeviceView<float> output, DeviceView<float> attention,
        int batchSize, int sequenceLength, int channels, int heads)
    {
        OpShapes.AttentionForward(qkv, output, attention, batchSize, sequenceLength, channels, heads);
        _attention.Forward(_stream, View(qkv), View(output), View(attention), batchSize, sequenceLength, channels, heads);
    }

    /// <inheritdoc/>
    public void AttentionBackward(DeviceView<float> dOutput, DeviceView<float> qkv, DeviceView<float> attention,
        DeviceView<float> dQkv, int batchSize, int sequenceLength, int channels, int heads)
    {
        OpShapes.AttentionBackward(dOutput, qkv, attention, dQkv, batchSize, sequenceLength, channels, heads);
        _attention.Backward(_stream, View(dOutput), View(qkv), View(attention), View(dQkv), batchSize, sequenceLength, channels, heads);
    }

    /// <inheritdoc/>
    public void AttentionDecode(DeviceView<float> qkvCache, DeviceView<float> output, int position, int channels, int heads)
    {
        OpShapes.AttentionDecode(qkvCache, output, position, channels, heads);
        _decode.Decode(_stream, View(qkvCache), View(output), position, channels, heads);
    }

    /// <inheritdoc/>
    public void GeluForward(DeviceView<float> input, DeviceView<float> output, long count)
    {
        OpShapes.GeluForward(input, output, count);
        _gelu.Forward(_stream, View(input), View(output), count);
    }

    /// <inheritdoc/>
    public void GeluBackward(DeviceView<float> dOutput, DeviceView<float> input, DeviceView<float> dInput, long count)
    {
        OpShapes.GeluBackward(dOutput, input, dInput, count);
        _gelu.Backward(_stream, View(dOutput), View(input), View(dInput), count);
    }

    /// <inheritdoc/>
    public void ResidualForward(DeviceView<float> a, DeviceView<float> b, DeviceView<float> output, long count)
    {
        OpShapes.ResidualForward(a, b, output, count);
        _residual.Forward(_stream, View(a), View(b), View(output), count);
    }

    /// <inheritdoc/>
    public void ResidualBackward(DeviceView<float> dOutput, DeviceView<float> dA, DeviceView<float> dB, long count)
    {
        OpShapes.ResidualBackward(dOutput, dA, dB, count);
        _residual.Backward(_stream, View(dOutput), View(dA), View(dB), count);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(DeviceView<float> logits, DeviceView<int> targets, DeviceView<float> probabilities,
        DeviceView<float> losses, int rows, int vocabularySize, int paddedVocabularySize)
    {
        OpShapes.SoftmaxCrossEntropyForward(logits, targets, probabilities, losses, rows, vocabularySize, paddedVocabularySize);
        _softmax.Forward(_stream, View(logits), View(targets), View(probabilities), View(losses), rows, vocabularySize, paddedVocabularySize);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(DeviceView<float> probabilities, DeviceView<int> targets, DeviceView<float> dLogits,
        float lossScale, int rows, int vocabularySize, int paddedVocabularySize)
    {
        OpShapes.SoftmaxCrossEntropyBackward(probabilities, targets, dLogits, lossScale, rows, vocabularySize, paddedVocabularySize);
        _softmax.Backward(_stream, View(probabilities), View(targets), View(dLogits), lossScale, rows, vocabularySize, paddedVocabularySize);
    }

    /// <inheritdoc/>
    public void AdamWUpdate(DeviceView<float> gradients, DeviceView<float> parameters, DeviceView<float> firstMoment,
        DeviceView<float> secondMoment, AdamWStep step)
    {
        OpShapes.AdamWUpdate(gradients, parameters, firstMoment, secondMoment, step);
        _adamw.Update(_stream, View(gradients), View(parameters), View(firstMoment), View(secondMoment), step);
    }

    /// <inheritdoc/>
    public void SumOfSquares(DeviceView<float> values, DeviceView<float> result)
    {
        OpShapes.SumOfSquares(values, result);
        _elementwise.SumOfSquares(_stream, View(values), View(result));
    }

    /// <summary>Bytes of device memory in use on a CUDA device (all processes), or null elsewhere.</summary>
    /// <returns>Used bytes, from the driver's free and total memory.</returns>
    public long? DeviceMemoryUsed()
    {
        if (_accelerator is not CudaAccelerator)
        {
            return null;
        }

        _accelerator.Synchronize();
        return CudaDriver.MemGetInfo(out long free, out long total) == 0 ? total - free : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _accelerator.Synchronize();
        _elementwise.Dispose();
        _attention.Dispose();
        _decode.Dispose();
        _columns.Dispose();
        _cublas?.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }

    private ArrayView<T> View<T>(DeviceView<T> view) where T : unmanaged
    {
        if (view.Buffer is not IlgpuBuffer<T> buffer || !ReferenceEquals(buffer.Backend, this))
        {
            throw new ArgumentException("The buffer was not allocated by this ILGPU backend.", nameof(view));
        }

        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        return buffer.Memory.View.SubView(view.Offset, view.Length);
    }





}
