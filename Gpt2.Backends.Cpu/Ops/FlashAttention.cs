namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// Causal multi-head self-attention without the (B,NH,T,T) probabilities. Shapes: qkv (B,T,3C) holding q, k, v each
/// as (NH,hs); output (B,T,C); logSumExp (B,NH,T), log Σ_{t2≤t} exp(s[t,t2]) of the scaled scores s = q·k/√hs. A
/// query row's scores live in a per-task scratch of T floats while the row is computed; the backward recomputes each
/// row's probabilities from its log-sum-exp. Results do not depend on the thread count.
/// </summary>
internal static unsafe class FlashAttention
{
    public static void Forward(CpuParallel parallel, float* qkv, float* output, float* logSumExp, int b, int t, int c, int nh)
    {
        int hs = c / nh, c3 = 3 * c;
        float scale = 1.0f / MathF.Sqrt(hs);
        parallel.ForRanges((long)b * nh * t, 4, (start, end) =>
        {
            // one row of scores: on the stack up to 4,096 (16 KB), on the heap beyond, where a long row would not fit a pool thread's stack
            if (t <= 4096)
            {
                float* s = stackalloc float[t];
                Rows(qkv, output, logSumExp, s, start, end, t, c, nh, hs, c3, scale);
                return;
            }

            float[] heap = System.Buffers.ArrayPool<float>.Shared.Rent(t);
            try
            {
                fixed (float* s = heap)
                {
                    Rows(qkv, output, logSumExp, s, start, end, t, c, nh, hs, c3, scale);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(heap);
            }
        });
    }

    /// <summary>Query rows [start, end) of the forward, with <paramref name="s"/> (T floats) for one row's scores.</summary>
    private static void Rows(float* qkv, float* output, float* logSumExp, float* s, long start, long end, int t, int c, int nh, int hs, int c3, float scale)
    {
        for (long task = start; task < end; task++)
        {
            long bi = task / (nh * t), h = task / t % nh, ti = task % t;
            float* q = qkv + (bi * t + ti) * c3 + h * hs;
            float max = float.NegativeInfinity;
            for (int t2 = 0; t2 <= ti; t2++)
            {
                s[t2] = VectorMath.Dot(q, qkv + (bi * t + t2) * c3 + c + h * hs, hs) * scale;
                max = MathF.Max(max, s[t2]);
            }

            double sum = SoftmaxExp.ExpSum(s, max, s, (int)ti + 1);
            float inv = (float)(1.0 / sum);
            float* o = output + (bi * t + ti) * c + h * hs;
            new Span<float>(o, hs).Clear();
            for (int t2 = 0; t2 <= ti; t2++)
            {
                VectorMath.Axpy(o, qkv + (bi * t + t2) * c3 + 2 * c + h * hs, s[t2] * inv, hs);
            }

            logSumExp[(bi * nh + h) * t + ti] = (float)(max + Math.Log(sum));
        }
    }

    /// <summary>
    /// One task per (b, head), queries in order: p = exp(s - lse), dv[t2] += p·dO, ds = p·(dO·v[t2] - dO·O) / √hs,
    /// dq += ds·k[t2], dk[t2] += ds·q. Keys and values are summed by their only owner, so the result is fixed.
    /// </summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* qkv, float* output, float* logSumExp, float* dQkv,
        int b, int t, int c, int nh)
    {
        int hs = c / nh, c3 = 3 * c;
        float scale = 1.0f / MathF.Sqrt(hs);
        parallel.ForEach((long)b * nh, task =>
        {
            long bi = task / nh, h = task % nh;
            for (long ti = 0; ti < t; ti++)
            {
                float* q = qkv + (bi * t + ti) * c3 + h * hs;
                float* dq = dQkv + (bi * t + ti) * c3 + h * hs;
                float* dout = dOutput + (bi * t + ti) * c + h * hs;
                float delta = VectorMath.Dot(dout, output + (bi * t + ti) * c + h * hs, hs);
                float lse = logSumExp[(bi * nh + h) * t + ti];
                for (long t2 = 0; t2 <= ti; t2++)
                {
                    long kv = (bi * t + t2) * c3 + h * hs;
                    float p = MathF.Exp(VectorMath.Dot(q, qkv + kv + c, hs) * scale - lse);
                    float ds = p * (VectorMath.Dot(dout, qkv + kv + 2 * c, hs) - delta) * scale;
                    VectorMath.Axpy(dQkv + kv + 2 * c, dout, p, hs);
                    VectorMath.Axpy(dq, qkv + kv + c, ds, hs);
                    VectorMath.Axpy(dQkv + kv + c, q, ds, hs);
                }
            }
        });
    }
}
