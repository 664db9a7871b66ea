using Gpt2.Model;

namespace Gpt2.Evaluation;

/// <summary>
/// Completion-style HellaSwag scoring as llm.c's hellaswag.py: each ending is appended to the context, and its score
/// is the cross-entropy of its tokens given everything before them (summed for acc, averaged for acc_norm). Examples
/// are batched four rows each, padded to the longest row of the set; on any backend.
/// </summary>
public static class HellaSwagEvaluator
{
    /// <summary>Scores the examples (of this rank's share, in a data-parallel job: every <paramref name="worldSize"/>-th from <paramref name="rank"/>).</summary>
    /// <param name="model">The model; its activations are reshaped for the evaluation.</param>
    /// <param name="examples">The examples.</param>
    /// <param name="rank">This process's rank.</param>
    /// <param name="worldSize">Processes sharing the examples.</param>
    /// <param name="examplesPerBatch">Examples per forward pass (four rows each).</param>
    /// <returns>The predictions for this rank's examples.</returns>
    /// <exception cref="ArgumentException">An example is longer than the model's context or has a token outside its vocabulary.</exception>
    public static HellaSwagResult Evaluate(Gpt2Model model, IReadOnlyList<HellaSwagExample> examples, int rank = 0, int worldSize = 1, int examplesPerBatch = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(examplesPerBatch);
        Check(model.Config, examples);
        var mine = examples.Where((_, i) => i % worldSize == rank).ToList();
        if (mine.Count == 0)
        {
            return new HellaSwagResult([]);
        }

        int rows = mine.Max(e => e.Endings.Count);
        int t = mine.Max(e => e.LongestRow);
        int perBatch = Math.Min(examplesPerBatch, mine.Count), b = perBatch * rows;
        var inputs = new int[b * t];
        var targets = new int[b * t];
        var losses = new float[b * t];
        var predictions = new List<HellaSwagPrediction>(mine.Count);
        for (int first = 0; first < mine.Count; first += perBatch)
        {
            var batch = mine.Skip(first).Take(perBatch).ToList();
            Array.Clear(inputs);
            Array.Clear(targets);
            for (int i = 0; i < batch.Count; i++)
            {
                for (int r = 0; r < batch[i].Endings.Count; r++)
                {
                    var row = batch[i].Context.Concat(batch[i].Endings[r]).ToArray();
                    var span = inputs.AsSpan((i * rows + r) * t, t);
                    row.CopyTo(span);
                    row.AsSpan(1).CopyTo(targets.AsSpan((i * rows + r) * t, t)); // position p predicts token p+1
                }
            }

            model.Forward(inputs, targets, b, t);
            model.GetLosses(losses);
            for (int i = 0; i < batch.Count; i++)
            {
                var e = batch[i];
                var sums = new double[e.Endings.Count];
                var means = new double[e.Endings.Count];
                for (int r = 0; r < e.Endings.Count; r++)
                {
                    // the ending's tokens are the targets of positions ctx-1 .. ctx+len-2
                    var row = losses.AsSpan((i * rows + r) * t + e.Context.Count - 1, e.Endings[r].Count);
                    double sum = 0;
                    foreach (float loss in row)
                    {
                        sum += loss;
                    }

                    sums[r] = sum;
                    means[r] = sum / e.Endings[r].Count;
                }

                predictions.Add(new HellaSwagPrediction(e.Index, e.Label, ArgMin(sums), ArgMin(means), sums, means));
            }
        }

        return new HellaSwagResult(predictions);
    }

    /// <summary>Checks that a model can score the examples: each fits its context and its vocabulary.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="examples">The examples.</param>
    /// <exception cref="ArgumentException">An example is longer than the context, empty, or has a token outside the vocabulary.</exception>
    public static void Check(Gpt2Config config, IReadOnlyList<HellaSwagExample> examples)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(examples);
        foreach (var e in examples)
        {
            if (e.LongestRow > config.MaxSequenceLength)
            {
                throw new ArgumentException($"HellaSwag example {e.Index} is {e.LongestRow} tokens, longer than the model's context of {config.MaxSequenceLength}.", nameof(examples));
            }

            if (e.Context.Count == 0 || e.Endings.Any(x => x.Count == 0))
            {
                throw new ArgumentException($"HellaSwag example {e.Index} has an empty context or ending.", nameof(examples));
            }

            if (e.Context.Concat(e.Endings.SelectMany(x => x)).Any(t => t >= config.VocabularySize))
            {
                throw new ArgumentException($"HellaSwag example {e.Index} has GPT-2 tokens outside the model's vocabulary of {config.VocabularySize}.", nameof(examples));
            }
        }
    }

    private static int ArgMin(double[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] < values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
