namespace Gpt2.Training;

/// <summary>The learning-rate schedules of llm.c (llmc/schedulers.h).</summary>
public enum ScheduleKind
{
    /// <summary>Linear warmup, then cosine decay to lr · final fraction.</summary>
    Cosine,

    /// <summary>Linear warmup, then linear decay to lr · final fraction.</summary>
    Linear,

    /// <summary>Always lr.</summary>
    Constant,

    /// <summary>Warmup, stable, then over the last 20% a 1 − √ decay to lr · final fraction.</summary>
    Wsd,
}

/// <summary>A learning rate per step, computed exactly as llm.c's schedulers.</summary>
/// <param name="Kind">The schedule.</param>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="WarmupSteps">Steps of linear warmup.</param>
/// <param name="TotalSteps">Steps of the run (the decay ends there).</param>
/// <param name="FinalFraction">Final learning rate as a fraction of the peak.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record LearningRateSchedule(ScheduleKind Kind, float LearningRate, int WarmupSteps, int TotalSteps, float FinalFraction)
{
    /// <summary>The learning rate of a 0-based step.</summary>
    /// <param name="step">The step.</param>
    /// <returns>The learning rate.</returns>
    public float At(int step)
    {
        float max = LearningRate, min = LearningRate * FinalFraction;
        if (Kind == ScheduleKind.Constant)
        {
            return max;
        }

        if (step < WarmupSteps)
        {
            return max * (step + 1) / WarmupSteps;
        }

        if (Kind == ScheduleKind.Wsd)
        {
            int decayPoint = (int)(0.8f * TotalSteps);
            if (step < decayPoint)
            {
                return max;
            }

            float ratio = Math.Clamp((float)(step - decayPoint) / Math.Max(1, TotalSteps - decayPoint), 0f, 1f);
            return min + (1f - MathF.Sqrt(ratio)) * (max - min);
        }

        float decay = Math.Clamp((float)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps), 0f, 1f);
        return Kind == ScheduleKind.Cosine
            ? min + 0.5f * (1f + MathF.Cos(MathF.PI * decay)) * (max - min)
            : max - decay * (max - min);
    }
}
