namespace Gpt2.Benchmarks.Ops;

/// <summary>GPT-2 124M (d12) shapes at B=4, T=64, the configuration llm.c's CPU trainer is usually timed with.</summary>
internal static class Gpt2Shapes
{
    public const int B = 4, T = 64, C = 768, NH = 12, Vp = 50304, V = 50257, Rows = B * T;
}
