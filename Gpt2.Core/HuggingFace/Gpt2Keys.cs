using Gpt2.Model;

namespace Gpt2.HuggingFace;

/// <summary>
/// How transformers' GPT2LMHeadModel names and stores each row of llm.c's parameter table. Its Conv1D layers keep
/// their weights (in, out), the transpose of llm.c's (out, in); its embeddings have V rows where llm.c pads to Vp.
/// </summary>
internal static class Gpt2Keys
{
    /// <summary>The prefix save_pretrained writes before every key of the base model; the hub's original files have none.</summary>
    public const string Prefix = "transformer.";

    /// <summary>The classifier, tied to wte in GPT-2.</summary>
    public const string LmHead = "lm_head.weight";

    /// <summary>The key of a row's tensor for one layer (the layer is ignored for tensors that are not per layer).</summary>
    public static string Of(ParameterTensor row, int layer) => row.Name switch
    {
        "wte" => "wte.weight",
        "wpe" => "wpe.weight",
        "ln1w" => $"h.{layer}.ln_1.weight",
        "ln1b" => $"h.{layer}.ln_1.bias",
        "qkvw" => $"h.{layer}.attn.c_attn.weight",
        "qkvb" => $"h.{layer}.attn.c_attn.bias",
        "attprojw" => $"h.{layer}.attn.c_proj.weight",
        "attprojb" => $"h.{layer}.attn.c_proj.bias",
        "ln2w" => $"h.{layer}.ln_2.weight",
        "ln2b" => $"h.{layer}.ln_2.bias",
        "fcw" => $"h.{layer}.mlp.c_fc.weight",
        "fcb" => $"h.{layer}.mlp.c_fc.bias",
        "fcprojw" => $"h.{layer}.mlp.c_proj.weight",
        "fcprojb" => $"h.{layer}.mlp.c_proj.bias",
        "lnfw" => "ln_f.weight",
        "lnfb" => "ln_f.bias",
        _ => throw new ArgumentException($"No Hugging Face key for parameter '{row.Name}'.", nameof(row)),
    };

    /// <summary>True for the Conv1D weights, stored (in, out) by transformers.</summary>
    public static bool IsTransposed(ParameterTensor row) => row.IsMatrix && row.IsPerLayer;

    /// <summary>The shape transformers stores for one layer's slice of a row.</summary>
    public static long[] ShapeOf(ParameterTensor row, Gpt2Config config)
    {
        var dims = row.IsPerLayer ? row.Shape.Inner.Dimensions.ToArray() : row.Shape.Dimensions.ToArray();
        if (row.Name == "wte")
        {
            dims[0] = config.VocabularySize;
        }

        if (IsTransposed(row))
        {
            (dims[0], dims[1]) = (dims[1], dims[0]);
        }

        return dims.Select(d => (long)d).ToArray();
    }

    /// <summary>Buffers transformers may save that are not parameters: the causal masks of older versions.</summary>
    public static bool IsIgnored(string key) =>
        key.StartsWith("h.", StringComparison.Ordinal) && (key.EndsWith(".attn.bias", StringComparison.Ordinal) || key.EndsWith(".attn.masked_bias", StringComparison.Ordinal));

    /// <summary>Each slice of llm.c's table in file order: the row, the layer, and the slice's length.</summary>
    public static IEnumerable<(ParameterTensor Row, int Layer)> Slices(ParameterLayout layout)
    {
        foreach (var row in layout.Tensors)
        {
            for (int l = 0; l < (row.IsPerLayer ? layout.Config.LayerCount : 1); l++)
            {
                yield return (row, l);
            }
        }
    }

    /// <summary>Turns a Hugging Face tensor into llm.c's slice: transposes Conv1D weights, pads wte with zero rows.</summary>
    public static float[] ToLlmc(ParameterTensor row, Gpt2Config config, float[] hf)
    {
        var dims = ShapeOf(row, config);
        if (IsTransposed(row))
        {
            return Transpose(hf, (int)dims[0], (int)dims[1]);
        }

        if (row.Name == "wte")
        {
            var padded = new float[row.Length];
            hf.CopyTo(padded, 0);
            return padded;
        }

        return hf;
    }

    /// <summary>Turns llm.c's slice into the Hugging Face tensor: transposes Conv1D weights, drops wte's padding rows.</summary>
    public static float[] FromLlmc(ParameterTensor row, Gpt2Config config, float[] llmc)
    {
        var dims = ShapeOf(row, config);
        if (IsTransposed(row))
        {
            return Transpose(llmc, (int)dims[1], (int)dims[0]);
        }

        return row.Name == "wte" ? llmc[..(config.VocabularySize * config.ChannelCount)] : llmc;
    }

    /// <summary>(rows, columns) row-major → (columns, rows) row-major.</summary>
    private static float[] Transpose(float[] source, int rows, int columns)
    {
        var result = new float[source.Length];
        const int Tile = 32; // in tiles, so that both sides stay in cache
        for (int r0 = 0; r0 < rows; r0 += Tile)
        {
            for (int c0 = 0; c0 < columns; c0 += Tile)
            {
                for (int r = r0; r < Math.Min(r0 + Tile, rows); r++)
                {
                    for (int c = c0; c < Math.Min(c0 + Tile, columns); c++)
                    {
                        result[(long)c * rows + r] = source[(long)r * columns + c];
                    }
                }
            }
        }

        return result;
    }
}
