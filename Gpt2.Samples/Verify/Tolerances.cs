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
}
