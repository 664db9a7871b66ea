using System.Runtime.CompilerServices;
using System.Text;
using Gpt2.Text;

namespace Gpt2.Model;

/// <summary>Text generation with a KV cache: each token costs one position of compute.</summary>
public sealed partial class Gpt2Model
{
    /// <summary>Continues a prompt (after the end-of-text token that starts a document) and returns the new text.</summary>
    /// <param name="prompt">Text to continue; empty to start a document.</param>
    /// <param name="options">Sampling settings; null for the defaults.</param>
    /// <returns>The generated tokens and text, and why generation stopped.</returns>
    /// <exception cref="ArgumentException">The prompt does not fit the model's context, or an option is out of range.</exception>
    public GenerationResult Generate(string prompt, GenerationOptions? options = null)
    {
        var tokens = new List<int>();
        var text = new StringBuilder();
        var reason = GenerationStopReason.MaxTokens;
        foreach (var token in Stream(prompt, options, r => reason = r, CancellationToken.None))
        {
            tokens.Add(token.Id);
            text.Append(token.Text);
        }

        return new GenerationResult(tokens, text.ToString(), reason);
    }

    /// <summary>Continues a prompt, yielding each token as it is drawn.</summary>
    /// <param name="prompt">Text to continue; empty to start a document.</param>
    /// <param name="options">Sampling settings; null for the defaults.</param>
    /// <returns>The tokens, lazily: nothing runs until enumeration starts.</returns>
    /// <exception cref="ArgumentException">The prompt does not fit the model's context, or an option is out of range.</exception>
    public IEnumerable<GeneratedToken> GenerateTokens(string prompt, GenerationOptions? options = null) =>
        Stream(prompt, options, null, CancellationToken.None);

    /// <summary>
    /// Continues a prompt, yielding each token as it is drawn; each token is computed on the thread pool, so a UI or
    /// server thread is never blocked.
    /// </summary>
    /// <param name="prompt">Text to continue; empty to start a document.</param>
    /// <param name="options">Sampling settings; null for the defaults.</param>
    /// <param name="cancellation">Stops generation between tokens.</param>
    /// <returns>The tokens as they come.</returns>
    /// <exception cref="ArgumentException">The prompt does not fit the model's context, or an option is out of range.</exception>
    public async IAsyncEnumerable<GeneratedToken> GenerateAsync(string prompt, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var tokens = Stream(prompt, options, null, cancellation).GetEnumerator();
        while (await Task.Run(tokens.MoveNext, cancellation).ConfigureAwait(false))
        {
            yield return tokens.Current;
        }
    }

    private IEnumerable<GeneratedToken> Stream(string prompt, GenerationOptions? options, Action<GenerationStopReason>? stopped, CancellationToken cancellation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        options ??= new GenerationOptions();
        options.Validate();
        var context = TextGeneration.Context(prompt, Config.MaxSequenceLength); // checked now, not at the first MoveNext
        var sampler = new TokenSampler(options.Seed) { Temperature = options.Temperature, TopK = options.TopK, TopP = options.TopP };
        return TextGeneration.Stream(this, context, sampler, options.MaxTokens, options.StopAtEndOfText, stopped, cancellation);
    }
}
