using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// One GPT-2 transformer block, x + attn(ln1(x)) then + mlp(ln2(·)), written once for training and for KV-cache
/// generation; only the attention differs (over the batch, or one new position against the cache), so the caller
/// passes it. The backward is the forward's call list reversed.
/// </summary>
internal static class TransformerBlock
{
    /// <summary>Block <paramref name="layer"/> forward: reads <paramref name="input"/>, writes every tensor of <paramref name="a"/>.</summary>
    /// <param name="be">The backend.</param>
    /// <param name="p">The parameters.</param>
    /// <param name="layer">The block's index.</param>
    /// <param name="input">(B,T,C), the residual stream into the block.</param>
    /// <param name="a">The block's activations; <see cref="BlockActivations.Residual3"/> is its output (it may be <paramref name="input"/>).</param>
    /// <param name="attention">Attention from a.Qkv into a.Atty.</param>
    public static void Forward(ComputeBackend be, ParameterViews p, int layer, DeviceTensor input, BlockActivations a, Action<BlockActivations> attention)
    {
        be.LayerNormForward(input, p.Ln1Weight[layer], p.Ln1Bias[layer], a.Ln1, a.Ln1Mean, a.Ln1Rstd);
        be.MatmulForward(a.Ln1, p.QkvWeight[layer], p.QkvBias[layer], a.Qkv);
        attention(a);
        be.MatmulForward(a.Atty, p.AttentionProjectionWeight[layer], p.AttentionProjectionBias[layer], a.AttProj);
        be.ResidualForward(input, a.AttProj, a.Residual2);
        be.LayerNormForward(a.Residual2, p.Ln2Weight[layer], p.Ln2Bias[layer], a.Ln2, a.Ln2Mean, a.Ln2Rstd);
        be.MatmulForward(a.Ln2, p.FcWeight[layer], p.FcBias[layer], a.Fch);
        be.GeluForward(a.Fch, a.FchGelu);
        be.MatmulForward(a.FchGelu, p.FcProjectionWeight[layer], p.FcProjectionBias[layer], a.FcProj);
        be.ResidualForward(a.Residual2, a.FcProj, a.Residual3);
    }

    /// <summary>
    /// Block <paramref name="layer"/> backward, accumulating into the parameter gradients <paramref name="d"/>.
    /// <paramref name="dResidual"/> holds the gradient of the block's output on entry and of its input on return:
    /// each residual add passes it unchanged to its branch, and each LayerNorm backward adds its branch's part to it.
    /// </summary>
    /// <param name="be">The backend.</param>
    /// <param name="p">The parameters.</param>
    /// <param name="d">The parameter gradients, accumulated.</param>
    /// <param name="layer">The block's index.</param>
    /// <param name="input">(B,T,C), the forward's input.</param>
    /// <param name="a">The forward's activations.</param>
    /// <param name="g">One block's gradient scratch, zeroed here.</param>
    /// <param name="dResidual">(B,T,C), the residual stream's gradient.</param>
    /// <param name="attention">The attention the forward ran.</param>
    public static void Backward(ComputeBackend be, ParameterViews p, ParameterViews d, int layer, DeviceTensor input, BlockActivations a,
        BlockGradients g, DeviceTensor dResidual, AttentionKind attention)
    {
        g.Zero(be);
        be.MatmulBackward(dResidual, a.FchGelu, p.FcProjectionWeight[layer], g.FchGelu, d.FcProjectionWeight[layer], d.FcProjectionBias[layer]);
        be.GeluBackward(g.FchGelu, a.Fch, g.Fch);
        be.MatmulBackward(g.Fch, a.Ln2, p.FcWeight[layer], g.Ln2, d.FcWeight[layer], d.FcBias[layer]);
        be.LayerNormBackward(g.Ln2, a.Residual2, p.Ln2Weight[layer], a.Ln2Mean, a.Ln2Rstd, dResidual, d.Ln2Weight[layer], d.Ln2Bias[layer]);
        be.MatmulBackward(dResidual, a.Atty, p.AttentionProjectionWeight[layer], g.Atty, d.AttentionProjectionWeight[layer], d.AttentionProjectionBias[layer]);
        if (attention == AttentionKind.Flash)
        {
            be.FlashAttentionBackward(g.Atty, a.Qkv, a.Atty, a.Att, g.Qkv);
        }
        else
        {
            be.AttentionBackward(g.Atty, a.Qkv, a.Att, g.Qkv);
        }

        be.MatmulBackward(g.Qkv, a.Ln1, p.QkvWeight[layer], g.Ln1, d.QkvWeight[layer], d.QkvBias[layer]);
        be.LayerNormBackward(g.Ln1, input, p.Ln1Weight[layer], a.Ln1Mean, a.Ln1Rstd, dResidual, d.Ln1Weight[layer], d.Ln1Bias[layer]);
    }
}
