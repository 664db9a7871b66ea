namespace Gpt2.Backends.Cpu.Ops;

/// <summary>
/// LayerNorm over C with ε = 1e-5. Shapes: input/output (rows,C), weight/bias (C), mean/rstd (rows).
/// Row statistics are summed in double: they feed every output of the row.
/// </summary>
internal static unsafe class LayerNorm
{
    private const double Epsilon = 1e-5;

    public static void Forward(CpuParallel parallel, float* input, float* weight, float* bias, float* output,
        float* mean, float* rstd, int rows, int c)
    {
        parallel.ForRanges(rows, 8, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                float* x = input + r * c;
                double sum = 0;
                for (int i = 0; i < c; i++)
                {
                    sum += x[i];
                }

                double m = sum / c;
                double var = 0;
                for (int i = 0; i < c; i++)
                {
                    double d = x[i] - m;
                    var += d * d;
                }

                double s = 1.0 / Math.Sqrt(var / c + Epsilon);
                float* o = output + r * c;
                for (int i = 0; i < c; i++)
                {
                    o[i] = (float)((x[i] - m) * s) * weight[i] + bias[i];
                }

                mean[r] = (float)m;
                rstd[r] = (float)s;
            }
        });
    }

    /// <summary>
    /// dInput needs two row means of the normalised gradient; dWeight and dBias sum over rows, so a second
    /// pass splits the channels among threads to keep one owner per element.
    /// </summary>
    public static void Backward(CpuParallel parallel, float* dOutput, float* input, float* weight, float* mean, float* rstd,
        float* dInput, float* dWeight, float* dBias, int rows, int c)
    {
        parallel.ForRanges(rows, 8, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                float* x = input + r * c;
                float* dout = dOutput + r * c;
                float* dx = dInput + r * c;
                float m = mean[r], s = rstd[r];
                double dnormMean = 0, dnormNormMean = 0;
                for (int i = 0; i < c; i++)
                {
                    float norm = (x[i] - m) * s;
                    float dnorm = weight[i] * dout[i];
                    dnormMean += dnorm;
                    dnormNormMean += (double)dnorm * norm;
                }

                float a = (float)(dnormMean / c), bm = (float)(dnormNormMean / c);
                for (int i = 0; i < c; i++)
                {
                    float norm = (x[i] - m) * s;
                    float dnorm = weight[i] * dout[i];
                    dx[i] += (dnorm - a - norm * bm) * s;
                }
            }
        });

        parallel.ForRanges(c, 32, (start, end) =>
        {
            for (long r = 0; r < rows; r++)
            {
                float* x = input + r * c;
                float* dout = dOutput + r * c;
                float m = mean[r], s = rstd[r];
                for (long i = start; i < end; i++)
                {
                    dBias[i] += dout[i];
                    dWeight[i] += (x[i] - m) * s * dout[i];
                }
            }
        });
    }
}
