namespace Gpt2.Backends.Cpu.Ops;

/// <summary>Token plus position embedding. Shapes: tokens (B,T), wte (Vp,C), wpe (maxT,C), output (B,T,C).</summary>
internal static unsafe class Encoder
{
    public static void Forward(CpuParallel parallel, int* tokens, float* wte, float* wpe, float* output, int b, int t, int c)
    {
        parallel.ForRanges((long)b * t, 16, (start, end) =>
        {
            for (long bt = start; bt < end; bt++)
            {
                float* o = output + bt * c;
                float* te = wte + (long)tokens[bt] * c;
                float* pe = wpe + (bt % t) * c;
                for (int i = 0; i < c; i++)
                {
                    o[i] = te[i] + pe[i];
                }
            }
        });
    }

    /// <summary>
    /// Several positions may hold the same token, so threads split the channels, not the positions:
    /// every gradient element is summed over (b, t) in order by one thread.
    /// </summary>
    public static void Backward(CpuParallel parallel, float* dOutput, int* tokens, float* dWte, float* dWpe, int b, int t, int c)
    {
        long bt = (long)b * t;
        parallel.ForRanges(c, 32, (start, end) =>
        {
            int width = (int)(end - start);
            for (long i = 0; i < bt; i++)
            {
                float* d = dOutput + i * c + start;
                VectorMath.Add(dWte + (long)tokens[i] * c + start, d, width);
                VectorMath.Add(dWpe + (i % t) * c + start, d, width);
            }
        });
    }
}
