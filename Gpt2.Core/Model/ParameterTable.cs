using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The 16 parameter tensors of GPT-2, each declared once, in llm.c's order (train_gpt2.c): the order of the
/// declarations below is the order in the model file, and offsets follow from it. <typeparamref name="T"/> is what
/// each entry holds: the table's rows (<see cref="ParameterLayout"/>) or views of a buffer laid out by them
/// (<see cref="ParameterViews"/>). Weights are stored (out, in); per-layer tensors lead with L, and indexing a
/// view (<c>views.QkvWeight[l]</c>) gives one layer's slice.
/// </summary>
/// <typeparam name="T">The entry type.</typeparam>
/// <remarks>Immutable after construction: safe to read from any thread.</remarks>
public abstract class ParameterTable<T>
{
    private readonly List<T> _entries = new(16);
    private readonly List<ParameterTensor> _rows = new(16);

    private protected ParameterTable(Gpt2Config config, ElementType elementType, Func<ParameterTensor, T> entry)
    {
        ArgumentNullException.ThrowIfNull(config);
        int vp = config.PaddedVocabularySize, c = config.ChannelCount, l = config.LayerCount, maxT = config.MaxSequenceLength;
        long offset = 0;
        T Row(string name, TensorShape shape, bool matrix = false, bool perLayer = false)
        {
            var row = new ParameterTensor(name, offset, shape, elementType) { IsMatrix = matrix, IsPerLayer = perLayer };
            offset += row.Length;
            _rows.Add(row);
            var e = entry(row);
            _entries.Add(e);
            return e;
        }

        TokenEmbedding = Row("wte", [vp, c], matrix: true);
        PositionEmbedding = Row("wpe", [maxT, c], matrix: true);
        Ln1Weight = Row("ln1w", [l, c], perLayer: true);
        Ln1Bias = Row("ln1b", [l, c], perLayer: true);
        QkvWeight = Row("qkvw", [l, 3 * c, c], matrix: true, perLayer: true);
        QkvBias = Row("qkvb", [l, 3 * c], perLayer: true);
        AttentionProjectionWeight = Row("attprojw", [l, c, c], matrix: true, perLayer: true);
        AttentionProjectionBias = Row("attprojb", [l, c], perLayer: true);
        Ln2Weight = Row("ln2w", [l, c], perLayer: true);
        Ln2Bias = Row("ln2b", [l, c], perLayer: true);
        FcWeight = Row("fcw", [l, 4 * c, c], matrix: true, perLayer: true);
        FcBias = Row("fcb", [l, 4 * c], perLayer: true);
        FcProjectionWeight = Row("fcprojw", [l, c, 4 * c], matrix: true, perLayer: true);
        FcProjectionBias = Row("fcprojb", [l, c], perLayer: true);
        LnfWeight = Row("lnfw", [c]);
        LnfBias = Row("lnfb", [c]);
        Config = config;
        ElementType = elementType;
        Count = offset;
    }

    /// <summary>The model shape the table was built for.</summary>
    public Gpt2Config Config { get; }

    /// <summary>The element type of every parameter (llm.c's <c>floatX</c>).</summary>
    public ElementType ElementType { get; }

    /// <summary>Total number of parameters, including wte's padding rows.</summary>
    public long Count { get; }

    /// <summary>The rows, in file order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _rows;

    /// <summary>The entries, in file order.</summary>
    public IReadOnlyList<T> Entries => _entries;

    /// <summary>Token embedding wte (Vp, C); also the classifier (weight tying).</summary>
    public T TokenEmbedding { get; }

    /// <summary>Position embedding wpe (maxT, C).</summary>
    public T PositionEmbedding { get; }

    /// <summary>First LayerNorm weight ln1w (L, C).</summary>
    public T Ln1Weight { get; }

    /// <summary>First LayerNorm bias ln1b (L, C).</summary>
    public T Ln1Bias { get; }

    /// <summary>Attention input projection qkvw (L, 3C, C).</summary>
    public T QkvWeight { get; }

    /// <summary>Attention input projection bias qkvb (L, 3C).</summary>
    public T QkvBias { get; }

    /// <summary>Attention output projection attprojw (L, C, C).</summary>
    public T AttentionProjectionWeight { get; }

    /// <summary>Attention output projection bias attprojb (L, C).</summary>
    public T AttentionProjectionBias { get; }

    /// <summary>Second LayerNorm weight ln2w (L, C).</summary>
    public T Ln2Weight { get; }

    /// <summary>Second LayerNorm bias ln2b (L, C).</summary>
    public T Ln2Bias { get; }

    /// <summary>MLP expansion fcw (L, 4C, C).</summary>
    public T FcWeight { get; }

    /// <summary>MLP expansion bias fcb (L, 4C).</summary>
    public T FcBias { get; }

    /// <summary>MLP projection fcprojw (L, C, 4C).</summary>
    public T FcProjectionWeight { get; }

    /// <summary>MLP projection bias fcprojb (L, C).</summary>
    public T FcProjectionBias { get; }

    /// <summary>Final LayerNorm weight lnfw (C).</summary>
    public T LnfWeight { get; }

    /// <summary>Final LayerNorm bias lnfb (C).</summary>
    public T LnfBias { get; }

    /// <summary>Finds an entry by its llm.c name.</summary>
    /// <param name="name">The name, for example <c>fcprojw</c>.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public T this[string name]
    {
        get
        {
            int i = _rows.FindIndex(r => r.Name == name);
            return i >= 0 ? _entries[i] : throw new KeyNotFoundException($"No parameter tensor is named '{name}'.");
        }
    }
}
