namespace Gpt2.Backends.Cpu.Ops;

/// <summary>GELU, tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). Elementwise over (count).</summary>
internal static unsafe class Gelu
{
    private static readonly float ScalingFactor = MathF.Sqrt(2.0f / MathF.PI);

    public static void Forward(CpuParallel parallel, float* input, float* output, long count)
    {
        float k = ScalingFactor;
        parallel.ForRanges(count, 4096, (start, end) =>
        {
            for (long i = start; i < end; i++)
            {
                float x = input[i];
                output[i] = 0.5f * x * (1.0f + MathF.Tanh(k * (x + 0.044715f * x * x * x)));
            }
        });
    }

    /// <summary>dInput += gelu'(x)·dOutput, with sech² written as 1 − tanh², which cannot overflow.</summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* input, float* dInput, long count)
    {
        float k = ScalingFactor;
        parallel.ForRanges(count, 4096, (start, end) =>
        {
            for (long i = start; i < end; i++)
            {
                float x = input[i];
                float th = MathF.Tanh(k * (x + 0.044715f * x * x * x));
                float local = 0.5f * (1.0f + th) + x * 0.5f * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x);
                dInput[i] += local * dOutput[i];
            }
        });
    }
}
