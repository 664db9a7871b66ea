using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The tensors a forward pass keeps for the backward, for one (B,T): the inputs, the encoder's output, every
/// block's <see cref="BlockActivations"/> (each per-layer row one (L, …) tensor, sliced per block), the final
/// LayerNorm and the classifier. The logits are overwritten by their gradient in the backward, as llm.c does.
/// </summary>
internal sealed class Activations : IDisposable
{
    private readonly TensorAllocator _allocator;

    public Activations(ComputeBackend? backend, Gpt2Config config, int b, int t, ElementType type, AttentionKind attention)
    {
        _allocator = new TensorAllocator(backend);
        int c = config.ChannelCount, l = config.LayerCount, nh = config.HeadCount, vp = config.PaddedVocabularySize;
        const ElementType fp32 = ElementType.Float32;
        BatchSize = b;
        SequenceLength = t;
        Attention = attention;
        Tokens = _allocator.New([b, t], ElementType.Int32);
        Targets = _allocator.New([b, t], ElementType.Int32);
        Encoded = _allocator.New([b, t, c], type);

        // each block row once, as an (L, …) tensor; block l takes entry l of each, in declaration order
        var stacked = new List<DeviceTensor>();
        BlockActivations.Create((shape, rowType) =>
        {
            var row = _allocator.New(shape.Prepend(l), rowType);
            stacked.Add(row);
            return row;
        }, b, t, c, nh, type, attention);
        Blocks = new BlockActivations[l];
        for (int layer = 0; layer < l; layer++)
        {
            int next = 0;
            Blocks[layer] = BlockActivations.Create((_, _) => backend is null ? default : stacked[next++][layer], b, t, c, nh, type, attention);
        }

        Lnf = _allocator.New([b, t, c], type);
        LnfMean = _allocator.New([b, t], fp32);
        LnfRstd = _allocator.New([b, t], fp32);
        Logits = _allocator.New([b, t, vp], type);
        Probabilities = _allocator.New([b, t, vp], type);
        Losses = _allocator.New([b, t], fp32);
    }

    public int BatchSize { get; }

    public int SequenceLength { get; }

    /// <summary>The attention the blocks' rows are laid out for.</summary>
    public AttentionKind Attention { get; }

    /// <summary>Bytes of every tensor.</summary>
    public long Bytes => _allocator.Bytes;

    /// <summary>inputs (B,T) int32.</summary>
    public DeviceTensor Tokens { get; }

    /// <summary>targets (B,T) int32.</summary>
    public DeviceTensor Targets { get; }

    /// <summary>encoded (B,T,C): token plus position embedding, the first block's input.</summary>
    public DeviceTensor Encoded { get; }

    /// <summary>One entry per block.</summary>
    public BlockActivations[] Blocks { get; }

    /// <summary>lnf (B,T,C).</summary>
    public DeviceTensor Lnf { get; }

    /// <summary>lnf_mean (B,T).</summary>
    public DeviceTensor LnfMean { get; }

    /// <summary>lnf_rstd (B,T).</summary>
    public DeviceTensor LnfRstd { get; }

    /// <summary>logits (B,T,Vp); after a backward, their gradient.</summary>
    public DeviceTensor Logits { get; }

    /// <summary>probs (B,T,Vp).</summary>
    public DeviceTensor Probabilities { get; }

    /// <summary>losses (B,T).</summary>
    public DeviceTensor Losses { get; }

    /// <summary>Block <paramref name="layer"/>'s input: the encoder's output or the previous block's.</summary>
    public DeviceTensor BlockInput(int layer) => layer == 0 ? Encoded : Blocks[layer - 1].Residual3;

    public void Dispose() => _allocator.Dispose();
}
