namespace Gpt2.Evaluation;

/// <summary>One HellaSwag example, tokenized as llm.c's hellaswag.py does: the context, and each ending with a leading space.</summary>
/// <param name="Index">The example's index in the dataset.</param>
/// <param name="Label">The index of the correct ending.</param>
/// <param name="Context">The context's GPT-2 tokens.</param>
/// <param name="Endings">Each ending's tokens (four in HellaSwag).</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record HellaSwagExample(int Index, int Label, IReadOnlyList<int> Context, IReadOnlyList<IReadOnlyList<int>> Endings)
{
    /// <summary>The longest context + ending, in tokens.</summary>
    public int LongestRow => Context.Count + Endings.Max(e => e.Count);
}
