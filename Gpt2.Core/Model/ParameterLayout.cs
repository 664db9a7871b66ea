namespace Gpt2.Model;

/// <summary>
/// The 16 parameter tensors of GPT-2 in llm.c's order and layout (train_gpt2.c), one flat buffer.
/// Weights are stored (out, in). The same layout describes the gradients and AdamW's moments.
/// </summary>
public sealed class ParameterLayout
{
    private readonly ParameterTensor[] _tensors;

    /// <summary>Builds the layout for a configuration.</summary>
    /// <param name="config">The model shape.</param>
    public ParameterLayout(Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        int vp = config.PaddedVocabularySize, c = config.ChannelCount, l = config.LayerCount, maxT = config.MaxSequenceLength;
        var tensors = new List<ParameterTensor>(16);
        long offset = 0;
        void Add(string name, bool matrix, bool perLayer, params int[] shape)
        {
            var t = new ParameterTensor(name, offset, shape) { IsMatrix = matrix, IsPerLayer = perLayer };
            tensors.Add(t);
            offset += t.Length;
        }

        Add("wte", true, false, vp, c);
        Add("wpe", true, false, maxT, c);
        Add("ln1w", false, true, l, c);
        Add("ln1b", false, true, l, c);
        Add("qkvw", true, true, l, 3 * c, c);
        Add("qkvb", false, true, l, 3 * c);
        Add("attprojw", true, true, l, c, c);
        Add("attprojb", false, true, l, c);
        Add("ln2w", false, true, l, c);
        Add("ln2b", false, true, l, c);
        Add("fcw", true, true, l, 4 * c, c);
        Add("fcb", false, true, l, 4 * c);
        Add("fcprojw", true, true, l, c, 4 * c);
        Add("fcprojb", false, true, l, c);
        Add("lnfw", false, false, c);
        Add("lnfb", false, false, c);
        _tensors = [.. tensors];
        Count = offset;
    }

    /// <summary>The model shape this layout was built for.</summary>
    public Gpt2Config Config { get; }

    /// <summary>Total number of parameters, including wte's padding rows.</summary>
    public long Count { get; }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _tensors;

    /// <summary>Token embedding wte (Vp, C).</summary>
    public ParameterTensor TokenEmbedding => _tensors[0];

    /// <summary>Position embedding wpe (maxT, C).</summary>
    public ParameterTensor PositionEmbedding => _tensors[1];

    /// <summary>First LayerNorm weight ln1w (L, C).</summary>
    public ParameterTensor Ln1Weight => _tensors[2];

    /// <summary>First LayerNorm bias ln1b (L, C).</summary>
    public ParameterTensor Ln1Bias => _tensors[3];

    /// <summary>Attention input projection qkvw (L, 3C, C).</summary>
    public ParameterTensor QkvWeight => _tensors[4];

    /// <summary>Attention input projection bias qkvb (L, 3C).</summary>
    public ParameterTensor QkvBias => _tensors[5];

    /// <summary>Attention output projection attprojw (L, C, C).</summary>
    public ParameterTensor AttentionProjectionWeight => _tensors[6];

    /// <summary>Attention output projection bias attprojb (L, C).</summary>
    public ParameterTensor AttentionProjectionBias => _tensors[7];

    /// <summary>Second LayerNorm weight ln2w (L, C).</summary>
    public ParameterTensor Ln2Weight => _tensors[8];

    /// <summary>Second LayerNorm bias ln2b (L, C).</summary>
    public ParameterTensor Ln2Bias => _tensors[9];

    /// <summary>MLP expansion fcw (L, 4C, C).</summary>
    public ParameterTensor FcWeight => _tensors[10];

    /// <summary>MLP expansion bias fcb (L, 4C).</summary>
    public ParameterTensor FcBias => _tensors[11];

    /// <summary>MLP projection fcprojw (L, C, 4C).</summary>
    public ParameterTensor FcProjectionWeight => _tensors[12];

    /// <summary>MLP projection bias fcprojb (L, C).</summary>
    public ParameterTensor FcProjectionBias => _tensors[13];

    /// <summary>Final LayerNorm weight lnfw (C).</summary>
    public ParameterTensor LnfWeight => _tensors[14];

    /// <summary>Final LayerNorm bias lnfb (C).</summary>
    public ParameterTensor LnfBias => _tensors[15];

    /// <summary>Finds a tensor by its llm.c name.</summary>
    /// <param name="name">The name, for example <c>fcprojw</c>.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public ParameterTensor this[string name] =>
        _tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"No parameter tensor is named '{name}'.");
}
