using System.Globalization;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;

namespace Gpt2.Samples.Verify;

/// <summary>
/// The analogue of llm.c's test_gpt2: one forward and backward on a debug state's batch compared with its
/// reference, then training steps on the same batch exactly as test_gpt2 (forward, zero grad, backward, AdamW with
/// lr 1e-4, betas 0.9/0.999, ε 1e-8, weight decay 0.01 on every parameter, t = step + 1).
/// </summary>
internal sealed class Verifier
{
    public const float LearningRate = 1e-4f;

    public static readonly AdamWOptions Optimizer = new()
    {
        Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f, WeightDecay = 0.01f, WeightDecayMode = WeightDecayMode.AllParameters,
    };

    public Verifier(Tolerances tolerances) => Tolerances = tolerances;

    public Tolerances Tolerances { get; }

    /// <summary>Compares the step-0 forward and backward with the state; leaves the model's gradients filled.</summary>
    public List<Comparison> CheckStep0(Gpt2Model model, DebugState state, out float loss, out float[] logits, out float[] gradients)
    {
        var c = model.Config;
        int b = state.BatchSize, t = state.SequenceLength, v = c.VocabularySize, vp = c.PaddedVocabularySize;
        loss = model.Forward(state.Inputs, state.Targets, b, t);
        var padded = new float[(long)b * t * vp];
        model.GetLogits(padded); // before the backward, which writes the logits' gradient over them
        model.ZeroGrad();
        model.Backward();

        logits = new float[(long)b * t * v];
        for (long r = 0; r < (long)b * t; r++)
        {
            padded.AsSpan((int)(r * vp), v).CopyTo(logits.AsSpan((int)(r * v)));
        }

        gradients = new float[model.Layout.Count];
        model.GetGradients(gradients);

        var results = new List<Comparison>();
        var (la, lm) = Comparison.Measure(logits, state.Logits);
        results.Add(new Comparison("logits", la, lm, la <= Tolerances.Logits));
        double lossErr = Math.Abs((double)loss - state.Loss);
        results.Add(new Comparison("loss", lossErr, Math.Abs(state.Loss), lossErr <= Tolerances.Loss));
        foreach (var tensor in model.Layout.Tensors)
        {
            var ours = gradients.AsSpan((int)tensor.Offset, (int)tensor.Length);
            var (ga, gm) = Comparison.Measure(ours, state.Gradients.AsSpan((int)tensor.Offset, (int)tensor.Length));
            bool ok = ga <= Tolerances.GradientAbs && ga <= Tolerances.GradientRelativeToMax * gm;
            string note = "";
            if (ReferenceEquals(tensor, model.Layout.TokenEmbedding) && vp > v)
            {
                // padding rows never reach the loss: their gradient must be exactly zero
                int nonZero = ours[(v * c.ChannelCount)..].IndexOfAnyExcept(0f);
                if (nonZero >= 0)
                {
                    ok = false;
                    note = $"padding row {v + nonZero / c.ChannelCount} has a non-zero gradient";
                }
            }

            results.Add(new Comparison("d" + tensor.Name, ga, gm, ok, note));
        }

        return results;
    }

    /// <summary>Runs test_gpt2's training loop on the state's batch; returns the loss of each step's forward pass.</summary>
    public static float[] Train(Gpt2Model model, DebugState state, int steps) => Train(model, state, steps, out _);

    /// <summary>
    /// As <see cref="Train(Gpt2Model, DebugState, int)"/>, also returning the parameters the optimizer ends with: a bf16
    /// model's fp32 master weights (its bf16 parameters cannot hold updates of lr 1e-4), else the model's own.
    /// </summary>
    public static float[] Train(Gpt2Model model, DebugState state, int steps, out float[] finalParameters)
    {
        var losses = new float[steps];
        using var adamw = new AdamW(model, Optimizer);
        finalParameters = new float[model.Layout.Count];
        for (int step = 0; step < steps; step++)
        {
            losses[step] = model.Forward(state.Inputs, state.Targets, state.BatchSize, state.SequenceLength);
            model.ZeroGrad();
            model.Backward();
            adamw.Step(LearningRate);
        }

        if (adamw.MasterWeights is { } master)
        {
            model.Backend.Download(master, finalParameters);
        }
        else
        {
            model.GetParameters(finalParameters);
        }

        return losses;
    }

    public List<Comparison> CheckLosses(float[] ours, double[] expected)
    {
        var results = new List<Comparison>();
        for (int i = 0; i < Math.Min(ours.Length, expected.Length); i++)
        {
            double err = Math.Abs(ours[i] - expected[i]);
            results.Add(new Comparison($"step {i} loss", err, Math.Abs(expected[i]), err <= Tolerances.StepLoss));
        }

        if (ours.Length != expected.Length)
        {
            results.Add(new Comparison("step count", double.PositiveInfinity, 0, false,
                $"ran {ours.Length} steps, the expected losses list {expected.Length}"));
        }

        return results;
    }

    /// <summary>
    /// Compares the parameters after the steps with the reference. Each tensor passes when the L2 norm of the
    /// difference is at most <see cref="Tolerances.ParameterUpdate"/> of the L2 norm of the reference's update
    /// (final − initial): a wrong moment, bias correction, decay or learning rate changes every update and fails by
    /// orders of magnitude, while the few elements whose gradient is rounding noise (which Adam, dividing by √v,
    /// turns into ±lr steps in any precision) do not decide the result. The max abs error is reported beside it.
    /// </summary>
    public List<Comparison> CheckParameters(Gpt2Model model, float[] initial, float[] expected)
    {
        var ours = new float[model.Layout.Count];
        model.GetParameters(ours);
        return CheckParameters(model, ours, initial, expected, initial);
    }

    /// <summary>
    /// As <see cref="CheckParameters(Gpt2Model, float[], float[])"/>, for parameters already read (<see cref="Train(Gpt2Model, DebugState, int, out float[])"/>),
    /// comparing our update (from <paramref name="initial"/>) with the reference's (from <paramref name="expectedInitial"/>): a
    /// bf16 model starts from the reference's parameters rounded, an offset that is not the optimizer's doing.
    /// </summary>
    public List<Comparison> CheckParameters(Gpt2Model model, float[] ours, float[] initial, float[] expected, float[] expectedInitial)
    {
        var results = new List<Comparison>();
        foreach (var tensor in model.Layout.Tensors)
        {
            float[] o = ours.AsSpan((int)tensor.Offset, (int)tensor.Length).ToArray();
            float[] e = expected.AsSpan((int)tensor.Offset, (int)tensor.Length).ToArray();
            float[] i = initial.AsSpan((int)tensor.Offset, (int)tensor.Length).ToArray();
            float[] ei = expectedInitial.AsSpan((int)tensor.Offset, (int)tensor.Length).ToArray();
            string note = "";
            if (ReferenceEquals(tensor, model.Layout.QkvBias))
            {
                ExcludeKeyBias(o, e, i, model.Config.ChannelCount);
                ExcludeKeyBias(ei, ei, ei, model.Config.ChannelCount);
                note = ", key bias excluded";
            }

            var (a, m) = Comparison.Measure(o, e);
            double diff = 0, update = 0;
            for (int k = 0; k < o.Length; k++)
            {
                diff += Math.Pow(((double)o[k] - i[k]) - ((double)e[k] - ei[k]), 2);
                update += Math.Pow((double)e[k] - ei[k], 2);
            }

            double relative = update > 0 ? Math.Sqrt(diff / update) : diff > 0 ? double.PositiveInfinity : 0;
            bool ok = relative <= Tolerances.ParameterUpdate;
            results.Add(new Comparison(tensor.Name + " after steps", a, m, ok,
                string.Create(CultureInfo.InvariantCulture, $"update error {relative:E2}{note}")));
        }

        return results;
    }

    /// <summary>
    /// The key bias adds the same q·b to every score of a query, which the softmax cancels: its true gradient is
    /// exactly zero, so its computed gradient is pure rounding noise in any precision, and Adam, which divides by
    /// √v, turns that noise into steps of ±lr. Those elements follow no reference; the rest of qkvb is compared.
    /// </summary>
    private static void ExcludeKeyBias(float[] ours, float[] expected, float[] initial, int channels)
    {
        for (int layer = 0; layer < ours.Length / (3 * channels); layer++)
        {
            ours.AsSpan(layer * 3 * channels + channels, channels).Clear();
            expected.AsSpan(layer * 3 * channels + channels, channels).Clear();
            initial.AsSpan(layer * 3 * channels + channels, channels).Clear();
        }
    }

    /// <summary>Reads "step i: loss x" lines, as written by --dump-losses and the reference generator.</summary>
    public static double[] ReadLosses(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Losses file not found: {path}", path);
        }

        var losses = new List<double>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            int colon = line.IndexOf(": loss ", StringComparison.Ordinal);
            if (!line.StartsWith("step ", StringComparison.Ordinal) || colon < 0
                || !int.TryParse(line.AsSpan(5, colon - 5), NumberStyles.None, CultureInfo.InvariantCulture, out int step)
                || step != losses.Count
                || !double.TryParse(line.AsSpan(colon + 7), NumberStyles.Float, CultureInfo.InvariantCulture, out double loss))
            {
                throw new FileFormatException(path, $"line {lineNumber} is not 'step {losses.Count}: loss <value>': {line}");
            }

            losses.Add(loss);
        }

        return [.. losses];
    }

    public static void WriteLosses(string path, float[] losses) =>
        Gpt2.IO.AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            for (int i = 0; i < losses.Length; i++)
            {
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {i}: loss {losses[i]:R}"));
            }
        });
}
