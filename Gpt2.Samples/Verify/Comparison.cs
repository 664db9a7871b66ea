namespace Gpt2.Samples.Verify;

/// <summary>How one result compares with its reference.</summary>
/// <param name="Name">What was compared (a tensor name, "logits", "loss").</param>
/// <param name="MaxAbsError">max |ours - reference|.</param>
/// <param name="ReferenceMax">max |reference|.</param>
/// <param name="Ok">Whether it is within tolerance.</param>
/// <param name="Note">Extra detail for a failure, or empty.</param>
internal sealed record Comparison(string Name, double MaxAbsError, double ReferenceMax, bool Ok, string Note = "")
{
    /// <summary>The error relative to the largest reference magnitude (0 when the reference is all zero and so are we).</summary>
    public double RelativeToMax => ReferenceMax > 0 ? MaxAbsError / ReferenceMax : MaxAbsError > 0 ? double.PositiveInfinity : 0;

    public static (double MaxAbs, double RefMax) Measure(ReadOnlySpan<float> ours, ReadOnlySpan<float> reference)
    {
        if (ours.Length != reference.Length)
        {
            throw new ArgumentException($"Lengths differ: {ours.Length} and {reference.Length}.", nameof(ours));
        }

        double maxAbs = 0, refMax = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = Math.Abs((double)ours[i] - reference[i]);
            if (double.IsNaN(d))
            {
                d = double.PositiveInfinity;
            }

            maxAbs = Math.Max(maxAbs, d);
            refMax = Math.Max(refMax, Math.Abs(reference[i]));
        }

        return (maxAbs, refMax);
    }
}
