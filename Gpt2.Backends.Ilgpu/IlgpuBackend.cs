using System.Runtime.CompilerServices;
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
            int cudaDevices = _context.GetCudaDevices().Count;
            bool hasCuda = cudaDevices > 0;
            bool useCuda = Options.Device switch
            {
                IlgpuDeviceKind.Cuda => hasCuda ? true : throw new InvalidOperationException("No CUDA device found (is the NVIDIA driver's libcuda.so.1 installed?)."),
                IlgpuDeviceKind.Cpu => false,
                _ => hasCuda,
            };
            if (useCuda && Options.DeviceIndex >= cudaDevices)
            {
                throw new InvalidOperationException($"CUDA device {Options.DeviceIndex} was asked for, but {cudaDevices} are present.");
            }

            _accelerator = useCuda ? _context.CreateCudaAccelerator(Options.DeviceIndex) : _context.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel);
            _stream = _accelerator.DefaultStream;
            (Matmul, _cublas) = CreateMatmulEngine(Options.Matmul, _accelerator as CudaAccelerator);
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

    /// <summary>The matmul engine in use (<see cref="MatmulEngine.Auto"/> resolved).</summary>
    public MatmulEngine Matmul { get; }

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
    /// <remarks>
    /// The host memory is pinned for the copy: ILGPU copies from the raw address of the reference it is given, and a
    /// garbage collection that moved a managed array in the middle would otherwise copy from where it used to be.
    /// </remarks>
    public unsafe void Upload<T>(ReadOnlySpan<T> source, DeviceView<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(source.Length, destination.Length, nameof(source));
        if (source.Length > 0)
        {
            fixed (T* pinned = source)
            {
                View(destination).CopyFromCPU(_stream, ref Unsafe.AsRef<T>(pinned), source.Length);
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>The host memory is pinned for the copy (see <see cref="Upload{T}"/>).</remarks>
    public unsafe void Download<T>(DeviceView<T> source, Span<T> destination) where T : unmanaged
    {
        OpShapes.SameLength(destination.Length, source.Length, nameof(destination));
        if (destination.Length > 0)
        {
            fixed (T* pinned = destination)
            {
                View(source).CopyToCPU(_stream, ref Unsafe.AsRef<T>(pinned), destination.Length);
            }
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

    private static (MatmulEngine, CuBlas.CuBlasMatmul?) CreateMatmulEngine(MatmulEngine requested, CudaAccelerator? cuda)
    {
        if (requested == MatmulEngine.Kernel || (requested == MatmulEngine.Auto && cuda is null))
        {
            return (MatmulEngine.Kernel, null);
        }

        if (cuda is null)
        {
            throw new InvalidOperationException($"The {requested} matmul engine needs a CUDA device.");
        }

        try
        {
            var engine = requested == MatmulEngine.Auto ? MatmulEngine.CuBlasTf32 : requested;
            return (engine, new CuBlas.CuBlasMatmul(cuda, engine == MatmulEngine.CuBlasTf32));
        }
        catch (DllNotFoundException) when (requested == MatmulEngine.Auto)
        {
            return (MatmulEngine.Kernel, null);
        }
    }

    /// <summary>The CUDA accelerator, or null on the CPU accelerator (for NCCL).</summary>
    internal CudaAccelerator? Cuda => _accelerator as CudaAccelerator;

    /// <summary>The ILGPU view of one of this backend's buffers.</summary>
    internal ArrayView<T> ViewOf<T>(DeviceView<T> view) where T : unmanaged => View(view);

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
