namespace Gpt2.Optimization;

/// <summary>AdamW hyperparameters; the defaults are llm.c's test_gpt2 settings.</summary>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record AdamWOptions
{
    /// <summary>First-moment decay β1.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Second-moment decay β2.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Denominator guard ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Decoupled weight decay.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Which parameters the weight decay applies to.</summary>
    public WeightDecayMode WeightDecayMode { get; init; } = WeightDecayMode.AllParameters;

    /// <summary>Clip gradients to this global L2 norm before the update; null for no clipping.</summary>
    public float? MaxGradientNorm { get; init; }

    /// <summary>
    /// For a bf16 model: keep fp32 master weights (true, llm.c's <c>-w 1</c>) or update the bf16 parameters directly,
    /// a tensor at a time through fp32 scratch, rounding stochastically (false, <c>-w 0</c>: less memory, and updates
    /// smaller than bf16's resolution survive only on average). Ignored for fp32 models.
    /// </summary>
    public bool MasterWeights { get; init; } = true;
}
