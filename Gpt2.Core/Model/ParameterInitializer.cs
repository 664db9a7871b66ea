namespace Gpt2.Model;

/// <summary>
/// GPT-2's random initialisation, drawn in the same order and from the same generator as llm.c's
/// <c>gpt2_build_from_random</c> (itself PyTorch's order): weights N(0, 0.02), the two projections back into the
/// residual stream N(0, 0.02/sqrt(2L)), biases 0, LayerNorm weights 1, wte padding rows 0.
/// </summary>
public static class ParameterInitializer
{
    /// <summary>Fills a host array with a fresh GPT-2 initialisation.</summary>
    /// <param name="layout">The parameter layout.</param>
    /// <param name="seed">Seed of the generator (llm.c uses 42).</param>
    /// <param name="parameters">All parameters, written in full.</param>
    public static void Initialize(ParameterLayout layout, uint seed, Span<float> parameters)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (parameters.Length != layout.Count)
        {
            throw new ArgumentException($"Expected {layout.Count} parameters, got {parameters.Length}.", nameof(parameters));
        }

        parameters.Clear();
        var config = layout.Config;
        var rng = new TorchMersenneTwister(seed);
        float residualScale = 1.0f / MathF.Sqrt(2.0f * config.LayerCount);
        foreach (var t in new[] { layout.Ln1Weight, layout.Ln2Weight, layout.LnfWeight })
        {
            parameters.Slice((int)t.Offset, (int)t.Length).Fill(1.0f);
        }

        // PyTorch initialises module by module: wte and wpe once, then each block's four matrices.
        var wte = layout.TokenEmbedding;
        rng.FillNormal(parameters.Slice((int)wte.Offset, config.VocabularySize * config.ChannelCount), 0, 0.02f);
        var wpe = layout.PositionEmbedding;
        rng.FillNormal(parameters.Slice((int)wpe.Offset, (int)wpe.Length), 0, 0.02f);
        for (int l = 0; l < config.LayerCount; l++)
        {
            foreach (var t in new[] { layout.QkvWeight, layout.AttentionProjectionWeight, layout.FcWeight, layout.FcProjectionWeight })
            {
                bool residual = ReferenceEquals(t, layout.AttentionProjectionWeight) || ReferenceEquals(t, layout.FcProjectionWeight);
                float std = residual ? 0.02f * residualScale : 0.02f;
                rng.FillNormal(parameters.Slice((int)(t.Offset + l * t.LayerLength), (int)t.LayerLength), 0, std);
            }
        }
    }
}
