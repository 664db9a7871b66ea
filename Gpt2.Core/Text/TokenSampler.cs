namespace Gpt2.Text;

/// <summary>
/// Draws the next token from logits with temperature, top-k and top-p (nucleus) filtering. Its random generator is
/// llm.c's xorshift* with a 64-bit state that can be saved and restored, so a resumed run samples the same text.
/// </summary>
/// <remarks>Not thread-safe: it holds the generator's state.</remarks>
public sealed class TokenSampler
{
    private ulong _state;

    /// <summary>Creates a sampler.</summary>
    /// <param name="seed">Seed of the generator; 0 is replaced by a fixed non-zero value (xorshift needs one).</param>
    public TokenSampler(ulong seed) => State = seed;

    /// <summary>Softmax temperature; 0 means greedy (always the most likely token).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens; 0 for all.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 for all.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>The generator state, for checkpoints.</summary>
    public ulong State
    {
        get => _state;
        set => _state = value == 0 ? 0x9E3779B97F4A7C15ul : value;
    }

    /// <summary>A uniform float in [0, 1), as llm.c's random_f32.</summary>
    /// <returns>The number.</returns>
    public float NextSingle()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        uint u = (uint)((_state * 0x2545F4914F6CDD1Dul) >> 32);
        return (u >> 8) / 16777216.0f;
    }

    /// <summary>Draws a token.</summary>
    /// <param name="logits">Logits of the real vocabulary.</param>
    /// <returns>The token id.</returns>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("No logits to sample from.", nameof(logits));
        }

        if (Temperature <= 0f)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++)
            {
                best = logits[i] > logits[best] ? i : best;
            }

            return best;
        }

        float max = float.NegativeInfinity;
        foreach (float x in logits)
        {
            max = MathF.Max(max, x);
        }

        var probs = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            probs[i] = Math.Exp((logits[i] - max) / Temperature);
        }

        int[] order = Enumerable.Range(0, probs.Length).ToArray();
        Array.Sort(order, (a, b) => probs[b].CompareTo(probs[a]) is var c && c != 0 ? c : a.CompareTo(b));
        double total = probs.Sum();
        int keep = TopK > 0 ? Math.Min(TopK, order.Length) : order.Length;
        if (TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < keep; i++)
            {
                cumulative += probs[order[i]] / total;
                if (cumulative >= TopP)
                {
                    keep = i + 1;
                    break;
                }
            }
        }

        double kept = 0;
        for (int i = 0; i < keep; i++)
        {
            kept += probs[order[i]];
        }

        double coin = NextSingle() * kept, acc = 0;
        for (int i = 0; i < keep; i++)
        {
            acc += probs[order[i]];
            if (coin < acc)
            {
                return order[i];
            }
        }

        return order[keep - 1];
    }
}
