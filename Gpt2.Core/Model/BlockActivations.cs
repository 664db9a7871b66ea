using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// What one transformer block's forward keeps for its backward, named as llm.c's ActivationTensors; each row is
/// declared once, here. Shapes for a (B,T) batch; LayerNorm statistics are fp32.
/// </summary>
internal sealed record BlockActivations
{
    /// <summary>ln1 (B,T,C).</summary>
    public required DeviceTensor Ln1 { get; init; }

    /// <summary>ln1_mean (B,T).</summary>
    public required DeviceTensor Ln1Mean { get; init; }

    /// <summary>ln1_rstd (B,T).</summary>
    public required DeviceTensor Ln1Rstd { get; init; }

    /// <summary>qkv (B,T,3C).</summary>
    public required DeviceTensor Qkv { get; init; }

    /// <summary>atty (B,T,C), the attention output before its projection.</summary>
    public required DeviceTensor Atty { get; init; }

    /// <summary>
    /// att (B,NH,T,T), the attention probabilities; with <see cref="AttentionKind.Flash"/>, (B,NH,T) fp32: each score
    /// row's log-sum-exp, from which the backward recomputes them.
    /// </summary>
    public required DeviceTensor Att { get; init; }

    /// <summary>attproj (B,T,C).</summary>
    public required DeviceTensor AttProj { get; init; }

    /// <summary>residual2 (B,T,C) = input + attproj.</summary>
    public required DeviceTensor Residual2 { get; init; }

    /// <summary>ln2 (B,T,C).</summary>
    public required DeviceTensor Ln2 { get; init; }

    /// <summary>ln2_mean (B,T).</summary>
    public required DeviceTensor Ln2Mean { get; init; }

    /// <summary>ln2_rstd (B,T).</summary>
    public required DeviceTensor Ln2Rstd { get; init; }

    /// <summary>fch (B,T,4C), the MLP's pre-activation.</summary>
    public required DeviceTensor Fch { get; init; }

    /// <summary>fch_gelu (B,T,4C).</summary>
    public required DeviceTensor FchGelu { get; init; }

    /// <summary>fcproj (B,T,C).</summary>
    public required DeviceTensor FcProj { get; init; }

    /// <summary>residual3 (B,T,C) = residual2 + fcproj: the block's output.</summary>
    public required DeviceTensor Residual3 { get; init; }

    /// <summary>Declares the rows for a (B,T) batch; <paramref name="row"/> makes each tensor.</summary>
    public static BlockActivations Create(Func<TensorShape, ElementType, DeviceTensor> row, int b, int t, int c, int nh, ElementType type,
        AttentionKind attention = AttentionKind.Standard)
    {
        const ElementType fp32 = ElementType.Float32;
        return new BlockActivations
        {
            Ln1 = row([b, t, c], type),
            Ln1Mean = row([b, t], fp32),
            Ln1Rstd = row([b, t], fp32),
            Qkv = row([b, t, 3 * c], type),
            Atty = row([b, t, c], type),
            Att = attention == AttentionKind.Flash ? row([b, nh, t], fp32) : row([b, nh, t, t], type),
            AttProj = row([b, t, c], type),
            Residual2 = row([b, t, c], type),
            Ln2 = row([b, t, c], type),
            Ln2Mean = row([b, t], fp32),
            Ln2Rstd = row([b, t], fp32),
            Fch = row([b, t, 4 * c], type),
            FchGelu = row([b, t, 4 * c], type),
            FcProj = row([b, t, c], type),
            Residual3 = row([b, t, c], type),
        };
    }
}
