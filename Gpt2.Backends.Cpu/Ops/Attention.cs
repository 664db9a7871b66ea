namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// Causal multi-head self-attention. Shapes: qkv (B,T,3C) holding q, k, v each as (NH,hs); output (B,T,C);
/// attention (B,NH,T,T), the softmax rows, zero above the diagonal.
/// </summary>
internal static unsafe class Attention
{
    public static void Forward(CpuParallel parallel, float* qkv, float* output, float* attention, int b, int t, int c, int nh)
    {
        int hs = c / nh;
        int c3 = 3 * c;
        float scale = 1.0f / MathF.Sqrt(hs);
        parallel.ForRanges((long)b * nh * t, 4, (start, end) =>
        {
            for (long task = start; task < end; task++)
            {
                long bi = task / (nh * t), h = task / t % nh, ti = task % t;
                float* q = qkv + (bi * t + ti) * c3 + h * hs;
                float* att = attention + ((bi * nh + h) * t + ti) * t;

                // scores, then subtract the row max only for numerical stability
                float max = float.NegativeInfinity;
                for (int t2 = 0; t2 <= ti; t2++)
                {
                    float* k = qkv + (bi * t + t2) * c3 + c + h * hs;
                    float s = VectorMath.Dot(q, k, hs) * scale;
                    att[t2] = s;
                    max = MathF.Max(max, s);
                }

                double sum = 0;
                for (int t2 = 0; t2 <= ti; t2++)
                {
                    float e = MathF.Exp(att[t2] - max);
                    att[t2] = e;
                    sum += e;
                }

                float inv = (float)(1.0 / sum);
                for (int t2 = 0; t2 <= ti; t2++)
                {
                    att[t2] *= inv;
                }

                for (long t2 = ti + 1; t2 < t; t2++)
                {
                    att[t2] = 0f;
                }

                float* o = output + (bi * t + ti) * c + h * hs;
                new Span<float>(o, hs).Clear();
                for (int t2 = 0; t2 <= ti; t2++)
                {
                    float* v = qkv + (bi * t + t2) * c3 + 2 * c + h * hs;
                    VectorMath.Axpy(o, v, att[t2], hs);
                }
            }
        });
    }

    /// <summary>
    /// One task per (b, head): keys and values receive gradient from every later query, so they are summed by
    /// their only owner in query order. The softmax backward uses dpre = a ⊙ (da − Σ a·da), which is linear in T.
    /// </summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* qkv, float* attention, float* dQkv, int b, int t, int c, int nh)
    {
        int hs = c / nh;
        int c3 = 3 * c;
        float scale = 1.0f / MathF.Sqrt(hs);
        parallel.ForEach((long)b * nh, task =>
        {
            long bi = task / nh, h = task % nh;
            float* dAtt = stackalloc float[t]; // T floats: no allocation per step
            for (long ti = 0; ti < t; ti++)
            {
                float* att = attention + ((bi * nh + h) * t + ti) * t;
                float* dout = dOutput + (bi * t + ti) * c + h * hs;
                float* q = qkv + (bi * t + ti) * c3 + h * hs;
                float* dq = dQkv + (bi * t + ti) * c3 + h * hs;
                double weighted = 0;
                for (long t2 = 0; t2 <= ti; t2++)
                {
                    long kv = (bi * t + t2) * c3 + h * hs;
                    float da = VectorMath.Dot(qkv + kv + 2 * c, dout, hs);
                    dAtt[t2] = da;
                    weighted += (double)att[t2] * da;
                    VectorMath.Axpy(dQkv + kv + 2 * c, dout, att[t2], hs);
                }

                float w = (float)weighted;
                for (long t2 = 0; t2 <= ti; t2++)
                {
                    long kv = (bi * t + t2) * c3 + h * hs;
                    float dPre = att[t2] * (dAtt[t2] - w) * scale;
                    VectorMath.Axpy(dq, qkv + kv + c, dPre, hs);
                    VectorMath.Axpy(dQkv + kv + c, q, dPre, hs);
                }
            }
        });
    }
}
