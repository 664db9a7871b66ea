namespace Gpt2.Formats;

/// <summary>How parameters are stored in an llm.c model file.</summary>
public enum ModelFileFormat
{
    /// <summary>Version 3: float32 parameters.</summary>
    Float32 = 3,

    /// <summary>Version 5: bfloat16 parameters (widened to float32 when loaded).</summary>
    BFloat16 = 5,
}
