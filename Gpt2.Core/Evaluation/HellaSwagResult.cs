namespace Gpt2.Evaluation;

/// <summary>How the model scored one example: the loss of each ending's tokens given the context.</summary>
/// <param name="Index">The example's index.</param>
/// <param name="Label">The correct ending.</param>
/// <param name="Prediction">The ending with the lowest summed loss.</param>
/// <param name="NormalizedPrediction">The ending with the lowest mean loss per token (llm.c's and hellaswag.py's acc_norm).</param>
/// <param name="SumLosses">Each ending's summed loss.</param>
/// <param name="MeanLosses">Each ending's mean loss per token.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record HellaSwagPrediction(int Index, int Label, int Prediction, int NormalizedPrediction, IReadOnlyList<double> SumLosses, IReadOnlyList<double> MeanLosses);

/// <summary>A HellaSwag evaluation: accuracy by summed loss (acc) and by mean loss (acc_norm).</summary>
/// <param name="Predictions">Every scored example, in example order.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record HellaSwagResult(IReadOnlyList<HellaSwagPrediction> Predictions)
{
    /// <summary>Examples scored.</summary>
    public int Examples => Predictions.Count;

    /// <summary>Examples whose lowest summed loss is the label's.</summary>
    public int Correct => Predictions.Count(p => p.Prediction == p.Label);

    /// <summary>Examples whose lowest mean loss is the label's.</summary>
    public int CorrectNormalized => Predictions.Count(p => p.NormalizedPrediction == p.Label);

    /// <summary>acc: <see cref="Correct"/> / <see cref="Examples"/>.</summary>
    public double Accuracy => Examples == 0 ? double.NaN : (double)Correct / Examples;

    /// <summary>acc_norm: <see cref="CorrectNormalized"/> / <see cref="Examples"/>.</summary>
    public double NormalizedAccuracy => Examples == 0 ? double.NaN : (double)CorrectNormalized / Examples;
}
