namespace Gpt2.Model;

/// <summary>The memory a batch shape needs besides the parameters (see <see cref="Gpt2Model.MeasureActivations"/>).</summary>
/// <param name="ActivationBytes">The activations a forward pass keeps for the backward.</param>
/// <param name="GradientBytes">The activation gradients of a backward pass: the residual stream's and one block's worth.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct ActivationMemory(long ActivationBytes, long GradientBytes);
