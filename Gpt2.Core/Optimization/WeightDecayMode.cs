namespace Gpt2.Optimization;

/// <summary>Which parameters AdamW's weight decay applies to.</summary>
public enum WeightDecayMode
{
    /// <summary>Every parameter, as llm.c's train_gpt2.c and test_gpt2.</summary>
    AllParameters,

    /// <summary>Only the weight matrices (wte, wpe, qkvw, attprojw, fcw, fcprojw), as llm.c's GPU trainer and nanoGPT.</summary>
    MatricesOnly,
}
