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
/// <see cref="ComputeBackend.Download{T}"/> and <see cref="Synchronize"/>.
/// </summary>
/// <remarks>Not thread-safe: ops are enqueued from one thread at a time (the training thread) and run in the order enqueued. The backend owns what it allocates only until the caller disposes it: buffers are the caller's, and must be disposed before the backend.</remarks>
public sealed class IlgpuBackend : ComputeBackend
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
    private readonly Ops.AttentionDecode _attentionDecode;
    private readonly Ops.FlashAttention _flashAttention;
    private readonly Ops.Gelu _gelu;
    private readonly Ops.Residual _residual;
    private readonly Ops.SoftmaxCrossEntropy _softmaxCrossEntropy;
    private readonly Ops.AdamW _adamw;
    private readonly Ops.Fill _fill;
    private readonly Ops.SumOfSquares _sumOfSquares;
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
            _attentionDecode = new Ops.AttentionDecode(_accelerator, shape);
            _flashAttention = new Ops.FlashAttention(_accelerator);
            _gelu = new Ops.Gelu(_accelerator);
            _residual = new Ops.Residual(_accelerator);
            _softmaxCrossEntropy = new Ops.SoftmaxCrossEntropy(_accelerator, shape);
            _adamw = new Ops.AdamW(_accelerator);
            _fill = new Ops.Fill(_accelerator);
            _sumOfSquares = new Ops.SumOfSquares(_accelerator, shape);
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
    public override string Name => _accelerator is CudaAccelerator ? "ilgpu-cuda" : "ilgpu-cpu";

    /// <summary>The accelerator's name, for example the GPU model.</summary>
    public string DeviceName => _accelerator.Name;

    /// <summary>True when the kernels run on a CUDA GPU.</summary>
    public bool IsCuda => _accelerator is CudaAccelerator;

    /// <inheritdoc/>
    public override bool Supports(ElementType type) => type is ElementType.Float32 or ElementType.Int32;

    /// <inheritdoc/>
    public override void Synchronize() => _stream.Synchronize();

    /// <inheritdoc/>
    protected override DeviceBuffer AllocateCore(ElementType type, TensorShape shape) => type switch
    {
        ElementType.Int32 => new IlgpuBuffer<int>(this, _accelerator, type, shape),
        _ => new IlgpuBuffer<float>(this, _accelerator, type, shape),
    };

    /// <inheritdoc/>
    /// <remarks>
    /// The host memory is pinned for the copy: ILGPU copies from the raw address of the reference it is given, and a
    /// garbage collection that moved a managed array in the middle would otherwise copy from where it used to be.
    /// </remarks>
    protected override unsafe void UploadCore<T>(ReadOnlySpan<T> source, DeviceTensor destination)
    {
        if (source.Length > 0)
        {
            fixed (T* pinned = source)
            {
                View<T>(destination).CopyFromCPU(_stream, ref Unsafe.AsRef<T>(pinned), source.Length);
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>The host memory is pinned for the copy (see <see cref="UploadCore{T}"/>).</remarks>
    protected override unsafe void DownloadCore<T>(DeviceTensor source, Span<T> destination)
    {
        if (destination.Length > 0)
        {
            fixed (T* pinned = destination)
            {
                View<T>(source).CopyToCPU(_stream, ref Unsafe.AsRef<T>(pinned), destination.Length);
            }
        }
    }

    /// <inheritdoc/>
    protected override void CopyCore(DeviceTensor source, DeviceTensor destination)
    {
        if (source.ElementType == ElementType.Int32)
        {
            View<int>(source).CopyTo(_stream, View<int>(destination));
        }
        else
        {
            F(source).CopyTo(_stream, F(destination));
        }
    }

    /// <inheritdoc/>
    protected override void FillCore(DeviceTensor destination, float value) => _fill.Run(_stream, F(destination), value);

    /// <inheritdoc/>
    protected override void EncoderForwardCore(DeviceTensor tokens, DeviceTensor tokenEmbedding, DeviceTensor positionEmbedding, DeviceTensor output) =>
        _encoder.Forward(_stream, I(tokens), F(tokenEmbedding), F(positionEmbedding), F(output), tokens.Shape[0], tokens.Shape[1], tokenEmbedding.Shape[1]);

    /// <inheritdoc/>
    protected override void EncoderBackwardCore(DeviceTensor dOutput, DeviceTensor tokens, DeviceTensor dTokenEmbedding, DeviceTensor dPositionEmbedding) =>
        _encoder.Backward(_stream, F(dOutput), I(tokens), F(dTokenEmbedding), F(dPositionEmbedding), tokens.Shape[0], tokens.Shape[1], dTokenEmbedding.Shape[1]);

    /// <inheritdoc/>
    protected override void LayerNormForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor bias,
        DeviceTensor output, DeviceTensor mean, DeviceTensor reciprocalStd) =>
        _layerNorm.Forward(_stream, F(input), F(weight), F(bias), F(output), F(mean), F(reciprocalStd), Rows(input), input.Shape.Last);

    /// <inheritdoc/>
    protected override void LayerNormBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight, DeviceTensor mean,
        DeviceTensor reciprocalStd, DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor dBias) =>
        _layerNorm.Backward(_stream, F(dOutput), F(input), F(weight), F(mean), F(reciprocalStd), F(dInput), F(dWeight), F(dBias),
            Rows(input), input.Shape.Last);

    /// <inheritdoc/>
    protected override void MatmulForwardCore(DeviceTensor input, DeviceTensor weight, DeviceTensor? bias, DeviceTensor output) =>
        _matmul.Forward(_stream, F(input), F(weight), bias is { } b ? F(b) : null, F(output), Rows(input), weight.Shape[1], weight.Shape[0]);

    /// <inheritdoc/>
    protected override void MatmulBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor weight,
        DeviceTensor dInput, DeviceTensor dWeight, DeviceTensor? dBias) =>
        _matmul.Backward(_stream, F(dOutput), F(input), F(weight), F(dInput), F(dWeight), dBias is { } db ? F(db) : null,
            Rows(input), weight.Shape[1], weight.Shape[0]);

    /// <inheritdoc/>
    protected override void AttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor attention) =>
        _attention.Forward(_stream, F(qkv), F(output), F(attention), qkv.Shape[0], qkv.Shape[1], output.Shape[2], attention.Shape[1]);

    /// <inheritdoc/>
    protected override void AttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor attention, DeviceTensor dQkv) =>
        _attention.Backward(_stream, F(dOutput), F(qkv), F(attention), F(dQkv), qkv.Shape[0], qkv.Shape[1], dOutput.Shape[2], attention.Shape[1]);

    /// <inheritdoc/>
    /// <remarks>On CUDA, from a table of NVIDIA data sheets for the precision of <see cref="Matmul"/> (TF32 or fp32); null on the CPU accelerator.</remarks>
    public override double? PeakFlops => IsCuda ? GpuPeaks.Find(DeviceName, Matmul)?.Flops : null;

    /// <inheritdoc/>
    public override string? PeakFlopsSource => IsCuda ? GpuPeaks.Find(DeviceName, Matmul)?.Source : null;

    /// <inheritdoc/>
    /// <remarks>Both kinds; flash attention for head sizes up to 128.</remarks>
    public override bool Supports(AttentionKind kind) => kind is AttentionKind.Standard or AttentionKind.Flash;

    /// <inheritdoc/>
    protected override void FlashAttentionForwardCore(DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp)
    {
        CheckFlashHeadSize(output.Shape[2], logSumExp.Shape[1]);
        _flashAttention.Forward(_stream, F(qkv), F(output), F(logSumExp), qkv.Shape[0], qkv.Shape[1], output.Shape[2], logSumExp.Shape[1]);
    }

    /// <inheritdoc/>
    protected override void FlashAttentionBackwardCore(DeviceTensor dOutput, DeviceTensor qkv, DeviceTensor output, DeviceTensor logSumExp, DeviceTensor dQkv)
    {
        CheckFlashHeadSize(output.Shape[2], logSumExp.Shape[1]);
        _flashAttention.Backward(_stream, F(dOutput), F(qkv), F(output), F(logSumExp), F(dQkv), qkv.Shape[0], qkv.Shape[1], output.Shape[2], logSumExp.Shape[1]);
    }

    /// <inheritdoc/>
    protected override void AttentionDecodeCore(DeviceTensor qkvCache, DeviceTensor output, int heads) =>
        _attentionDecode.Forward(_stream, F(qkvCache), F(output), qkvCache.Shape[0] - 1, (int)output.Length, heads);

    /// <inheritdoc/>
    protected override void GeluForwardCore(DeviceTensor input, DeviceTensor output) =>
        _gelu.Forward(_stream, F(input), F(output), input.Length);

    /// <inheritdoc/>
    protected override void GeluBackwardCore(DeviceTensor dOutput, DeviceTensor input, DeviceTensor dInput) =>
        _gelu.Backward(_stream, F(dOutput), F(input), F(dInput), input.Length);

    /// <inheritdoc/>
    protected override void ResidualForwardCore(DeviceTensor a, DeviceTensor b, DeviceTensor output) =>
        _residual.Forward(_stream, F(a), F(b), F(output), a.Length);

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyForwardCore(DeviceTensor logits, DeviceTensor targets, DeviceTensor probabilities,
        DeviceTensor losses, int vocabularySize) =>
        _softmaxCrossEntropy.Forward(_stream, F(logits), I(targets), F(probabilities), F(losses), Rows(logits), vocabularySize, logits.Shape.Last);

    /// <inheritdoc/>
    protected override void SoftmaxCrossEntropyBackwardCore(DeviceTensor probabilities, DeviceTensor targets, DeviceTensor dLogits,
        float lossScale, int vocabularySize) =>
        _softmaxCrossEntropy.Backward(_stream, F(probabilities), I(targets), F(dLogits), lossScale, Rows(probabilities), vocabularySize,
            probabilities.Shape.Last);

    /// <inheritdoc/>
    protected override void AdamWUpdateCore(DeviceTensor gradients, DeviceTensor parameters, DeviceTensor firstMoment,
        DeviceTensor secondMoment, AdamWStep step) =>
        _adamw.Update(_stream, F(gradients), F(parameters), F(firstMoment), F(secondMoment), step);

    /// <inheritdoc/>
    protected override void SumOfSquaresCore(DeviceTensor values, DeviceTensor result) =>
        _sumOfSquares.Compute(_stream, F(values), F(result));

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
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        _accelerator.Synchronize();
        _sumOfSquares.Dispose();
        _attention.Dispose();
        _attentionDecode.Dispose();
        _flashAttention.Dispose();
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

    /// <summary>The ILGPU view of one of this backend's fp32 tensors (for NCCL).</summary>
    internal ArrayView<float> ViewOf(DeviceTensor tensor)
    {
        if (tensor.Buffer is not IlgpuBuffer<float> || !ReferenceEquals(tensor.Buffer.Backend, this) || tensor.ElementType != ElementType.Float32)
        {
            throw new ArgumentException($"Expected an fp32 tensor of this ILGPU backend, got {tensor}.", nameof(tensor));
        }

        ObjectDisposedException.ThrowIf(tensor.Buffer.IsDisposed, tensor.Buffer);
        return F(tensor);
    }

    private static int Rows(DeviceTensor tensor) => checked((int)tensor.Shape.Rows);

    // the seam has checked ownership, element types and shapes
    private static ArrayView<T> View<T>(DeviceTensor tensor) where T : unmanaged =>
        ((IlgpuBuffer<T>)tensor.Buffer).Memory.View.SubView(tensor.Offset, tensor.Length);

    private static ArrayView<float> F(DeviceTensor tensor) => View<float>(tensor);

    private static ArrayView<int> I(DeviceTensor tensor) => View<int>(tensor);

    private static void CheckFlashHeadSize(int c, int heads)
    {
        if (c / heads > Ops.FlashAttention.MaxHeadSize)
        {
            throw new NotSupportedException($"Flash attention holds head sizes up to {Ops.FlashAttention.MaxHeadSize}; this model's is {c / heads}. Use standard attention.");
        }
    }
}
