using Gpt2.Text;

namespace Gpt2.Data;

/// <summary>TinyShakespeare, tokenized exactly as llm.c's dev/data/tinyshakespeare.py.</summary>
public static class TinyShakespeare
{
    /// <summary>The public URL of the text (Andrej Karpathy's char-rnn repository).</summary>
    public const string Url = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";

    /// <summary>Tokens in the validation split: the first 32,768.</summary>
    public const int ValidationTokens = 32768;

    /// <summary>
    /// Splits the text on blank lines ("\n\n"), puts the end-of-text token before each section, re-appends "\n\n" to
    /// every section but the last (as llm.c does for compatibility), and returns the first 32,768 tokens as the
    /// validation split and the rest as training.
    /// </summary>
    /// <param name="text">The whole TinyShakespeare text.</param>
    /// <param name="tokenizer">The GPT-2 tokenizer.</param>
    /// <returns>Validation and training tokens.</returns>
    public static (ushort[] Validation, ushort[] Train) Tokenize(string text, Gpt2Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizer);
        string[] sections = text.Split("\n\n");
        var tokens = new List<ushort>(text.Length / 3);
        for (int i = 0; i < sections.Length; i++)
        {
            tokenizer.AppendDocument(i != sections.Length - 1 ? sections[i] + "\n\n" : sections[i], tokens);
        }

        int split = Math.Min(ValidationTokens, tokens.Count);
        return ([.. tokens.GetRange(0, split)], [.. tokens.GetRange(split, tokens.Count - split)]);
    }
}
