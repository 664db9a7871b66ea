using Gpt2.Model;

namespace Gpt2.Text;

/// <summary>The generation loop shared by <see cref="Gpt2Model.Generate"/> and the trainer's samples.</summary>
internal static class TextGeneration
{
    /// <summary>The prompt's tokens after the end-of-text token that starts every document.</summary>
    public static List<int> Context(string prompt, int maxSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var context = new List<int> { Gpt2Tokenizer.EndOfText };
        context.AddRange(Gpt2Tokenizer.Instance.Encode(prompt));
        if (context.Count > maxSequenceLength)
        {
            throw new ArgumentException($"The prompt takes {context.Count} tokens (with the leading end-of-text token); the model's context is {maxSequenceLength}.", nameof(prompt));
        }

        return context;
    }

    /// <summary>Feeds the context through a KV cache and yields up to <paramref name="maxTokens"/> drawn tokens.</summary>
    /// <param name="model">The model.</param>
    /// <param name="context">At least one token, at most maxT.</param>
    /// <param name="sampler">Draws each token (its state advances).</param>
    /// <param name="maxTokens">Tokens to draw at most.</param>
    /// <param name="stopAtEndOfText">Stop after drawing the end-of-text token.</param>
    /// <param name="stopped">Receives why generation stopped, before the last token is yielded.</param>
    /// <param name="cancellation">Checked before each token.</param>
    public static IEnumerable<GeneratedToken> Stream(Gpt2Model model, IReadOnlyList<int> context, TokenSampler sampler, int maxTokens,
        bool stopAtEndOfText, Action<GenerationStopReason>? stopped, CancellationToken cancellation)
    {
        int length = (int)Math.Min(model.Config.MaxSequenceLength, (long)context.Count + maxTokens - 1); // the last token drawn is never fed back
        using var session = new InferenceSession(model, length);
        var decoder = new StreamingDecoder(Gpt2Tokenizer.Instance);
        for (int i = 0; i < context.Count - 1; i++)
        {
            session.Next(context[i]);
        }

        int token = context[^1];
        for (int generated = 0; generated < maxTokens; generated++)
        {
            cancellation.ThrowIfCancellationRequested();
            int next = sampler.Sample(session.Next(token));
            GenerationStopReason? reason =
                stopAtEndOfText && next == Gpt2Tokenizer.EndOfText ? GenerationStopReason.EndOfText
                : generated == maxTokens - 1 ? GenerationStopReason.MaxTokens
                : session.Length == session.MaxLength ? GenerationStopReason.ContextFull
                : null;
            string text = decoder.Push(next);
            if (reason is { } r)
            {
                stopped?.Invoke(r);
                yield return new GeneratedToken(next, text + decoder.Flush());
                yield break;
            }

            yield return new GeneratedToken(next, text);
            token = next;
        }
    }
}
