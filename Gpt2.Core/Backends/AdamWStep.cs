namespace Gpt2.Backends;

/// <summary>The scalars of one AdamW update, as passed to <see cref="ComputeBackend.AdamWUpdate"/>.</summary>
/// <param name="LearningRate">Learning rate for this step.</param>
/// <param name="Beta1">First-moment decay.</param>
/// <param name="Beta2">Second-moment decay.</param>
/// <param name="Epsilon">Denominator guard.</param>
/// <param name="WeightDecay">Decoupled weight decay for this range of parameters.</param>
/// <param name="Step">1-based step count t, for bias correction.</param>
/// <param name="GradientScale">Factor applied to each gradient before use (gradient clipping); 1 for none.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct AdamWStep(
    float LearningRate, float Beta1, float Beta2, float Epsilon, float WeightDecay, int Step, float GradientScale);
