using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The gradients of the activations during a backward, for one (B,T): the residual stream's gradient, which flows
/// from the final LayerNorm down through every block to the encoder, and one block's worth of the rest, reused by
/// every block. The logits' gradient is written over the logits (<see cref="Activations.Logits"/>).
/// </summary>
internal sealed class ActivationGradients : IDisposable
{
    private readonly TensorAllocator _allocator;

    public ActivationGradients(ComputeBackend? backend, Gpt2Config config, int b, int t, ElementType type)
    {
        _allocator = new TensorAllocator(backend);
        int c = config.ChannelCount;
        Lnf = _allocator.New([b, t, c], type);
        Residual = _allocator.New([b, t, c], type);
        Block = new BlockGradients(_allocator, b, t, c, type);
    }

    /// <summary>Bytes of every tensor.</summary>
    public long Bytes => _allocator.Bytes;

    /// <summary>d lnf (B,T,C).</summary>
    public DeviceTensor Lnf { get; }

    /// <summary>d residual (B,T,C): of the last block's output first, of the encoder's output at the end.</summary>
    public DeviceTensor Residual { get; }

    /// <summary>The rest of one block's gradients.</summary>
    public BlockGradients Block { get; }

    public void Dispose() => _allocator.Dispose();
}
