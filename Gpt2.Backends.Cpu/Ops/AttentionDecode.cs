namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// Attention of one new position against a KV cache (generation). Shapes: qkvCache (position+1, 3C), the new
/// position last; output (C).
/// </summary>
internal static unsafe class AttentionDecode
{
    /// <summary>One query (the last cache row) against rows 0..position; one task per head.</summary>
    public static void Forward(CpuParallel parallel, float* qkvCache, float* output, int position, int c, int nh)
    {
        int hs = c / nh;
        int c3 = 3 * c;
        float scale = 1.0f / MathF.Sqrt(hs);
        parallel.ForEach(nh, h =>
        {
            var scores = new float[position + 1];
            float* q = qkvCache + (long)position * c3 + h * hs;
            float max = float.NegativeInfinity;
            for (int t2 = 0; t2 <= position; t2++)
            {
                float s = VectorMath.Dot(q, qkvCache + (long)t2 * c3 + c + h * hs, hs) * scale;
                scores[t2] = s;
                max = MathF.Max(max, s);
            }

            double sum = 0;
            for (int t2 = 0; t2 <= position; t2++)
            {
                scores[t2] = MathF.Exp(scores[t2] - max);
                sum += scores[t2];
            }

            float inv = (float)(1.0 / sum);
            float* o = output + h * hs;
            new Span<float>(o, hs).Clear();
            for (int t2 = 0; t2 <= position; t2++)
            {
                VectorMath.Axpy(o, qkvCache + (long)t2 * c3 + 2 * c + h * hs, scores[t2] * inv, hs);
            }
        });
    }
}
