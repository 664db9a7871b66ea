namespace Gpt2.Samples.Verify;

/// <summary>
/// Tolerances of <c>gpt2 verify</c> against a float64 reference. They are far tighter than llm.c's test_gpt2
/// (2e-2 on gradients, 1e-2 on losses), which lets real bugs through; fp32 arithmetic stays well inside them.
/// </summary>
internal sealed record Tolerances
{
    /// <summary>Max abs error of any logit.</summary>
    public double Logits { get; init; } = 1e-4;

    /// <summary>Abs error of the mean loss.</summary>
    public double Loss { get; init; } = 1e-5;

    /// <summary>Max abs error of any gradient element.</summary>
    public double GradientAbs { get; init; } = 1e-5;

    /// <summary>Max abs error of a gradient tensor relative to its largest reference element.</summary>
    public double GradientRelativeToMax { get; init; } = 1e-3;

    /// <summary>Abs error of each training step's loss.</summary>
    public double StepLoss { get; init; } = 2e-4;

    /// <summary>
    /// L2 norm of a parameter tensor's error after the steps, relative to the L2 norm of the reference's update
    /// (see <see cref="Verifier.CheckParameters"/>).
    /// </summary>
    public double ParameterUpdate { get; init; } = 1e-3;

    /// <summary>
    /// For a bf16 model against the same float64 reference: its parameters are the fixture's rounded to bf16 (a
    /// relative change of up to 2⁻⁹) and every activation is rounded too. On the committed fixtures that costs up to
    /// 1.3% of the logits' scale (0.2 absolute), 0.05 of a loss and 4% of a gradient tensor's largest element (0.06
    /// absolute): bf16 itself, not a bug, so these bounds are about twice that, where a wrong kernel is off by the
    /// whole scale. The master weights keep the updates, which are compared as updates (each from its own start).
    /// </summary>
    public static Tolerances BFloat16 { get; } = new()
    {
        Logits = 0.5, Loss = 0.1, GradientAbs = 0.12, GradientRelativeToMax = 0.08, StepLoss = 0.12, ParameterUpdate = 0.25,
    };
}
