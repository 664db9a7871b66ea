namespace Gpt2.Tests.Reference;

/// <summary>
/// Straightforward float64 forward passes of every GPT-2 op: the oracle for the backends' forwards and, through
/// finite differences, for their backwards. Same shapes as the backend ops.
/// </summary>
internal static class ReferenceOps
{
    public static double[] Encoder(int[] tokens, double[] wte, double[] wpe, int b, int t, int c)
    {
        var o = new double[b * t * c];
        for (int i = 0; i < b * t; i++)
        {
            for (int k = 0; k < c; k++)
            {
                o[i * c + k] = wte[tokens[i] * c + k] + wpe[i % t * c + k];
            }
        }

        return o;
    }

    public static double[] LayerNorm(double[] x, double[] w, double[] bias, int rows, int c)
    {
        var o = new double[rows * c];
        for (int r = 0; r < rows; r++)
        {
            double m = 0, v = 0;
            for (int k = 0; k < c; k++)
            {
                m += x[r * c + k];
            }

            m /= c;
            for (int k = 0; k < c; k++)
            {
                v += (x[r * c + k] - m) * (x[r * c + k] - m);
            }

            double s = 1 / Math.Sqrt(v / c + 1e-5);
            for (int k = 0; k < c; k++)
            {
                o[r * c + k] = (x[r * c + k] - m) * s * w[k] + bias[k];
            }
        }

        return o;
    }

    public static double[] Matmul(double[] x, double[] w, double[]? bias, int rows, int c, int oc)
    {
        var o = new double[rows * oc];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < oc; j++)
            {
                double s = bias?[j] ?? 0;
                for (int k = 0; k < c; k++)
                {
                    s += x[r * c + k] * w[j * c + k];
                }

                o[r * oc + j] = s;
            }
        }

        return o;
    }

    public static double[] Attention(double[] qkv, int b, int t, int c, int nh, out double[] att)
    {
        int hs = c / nh;
        var o = new double[b * t * c];
        att = new double[b * nh * t * t];
        for (int bi = 0; bi < b; bi++)
        {
            for (int h = 0; h < nh; h++)
            {
                for (int i = 0; i < t; i++)
                {
                    var s = new double[i + 1];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j <= i; j++)
                    {
                        double d = 0;
                        for (int k = 0; k < hs; k++)
                        {
                            d += qkv[(bi * t + i) * 3 * c + h * hs + k] * qkv[(bi * t + j) * 3 * c + c + h * hs + k];
                        }

                        s[j] = d / Math.Sqrt(hs);
                        max = Math.Max(max, s[j]);
                    }

                    double sum = 0;
                    for (int j = 0; j <= i; j++)
                    {
                        s[j] = Math.Exp(s[j] - max);
                        sum += s[j];
                    }

                    for (int j = 0; j <= i; j++)
                    {
                        double a = s[j] / sum;
                        att[((bi * nh + h) * t + i) * t + j] = a;
                        for (int k = 0; k < hs; k++)
                        {
                            o[(bi * t + i) * c + h * hs + k] += a * qkv[(bi * t + j) * 3 * c + 2 * c + h * hs + k];
                        }
                    }
                }
            }
        }

        return o;
    }

    public static double[] Gelu(double[] x)
    {
        double k = Math.Sqrt(2 / Math.PI);
        return x.Select(v => 0.5 * v * (1 + Math.Tanh(k * (v + 0.044715 * v * v * v)))).ToArray();
    }

    public static double[] Residual(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    public static double[] CrossEntropy(double[] logits, int[] targets, int rows, int v, int vp, out double[] probs)
    {
        var losses = new double[rows];
        probs = new double[rows * vp];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int i = 0; i < v; i++)
            {
                max = Math.Max(max, logits[r * vp + i]);
            }

            for (int i = 0; i < v; i++)
            {
                sum += Math.Exp(logits[r * vp + i] - max);
            }

            for (int i = 0; i < v; i++)
            {
                probs[r * vp + i] = Math.Exp(logits[r * vp + i] - max) / sum;
            }

            losses[r] = Math.Log(sum) + max - logits[r * vp + targets[r]];
        }

        return losses;
    }
}
