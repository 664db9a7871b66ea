using BenchmarkDotNet.Attributes;
using Gpt2.Backends;
using static Gpt2.Benchmarks.Ops.Gpt2Shapes;

namespace Gpt2.Benchmarks.Ops;

/// <summary>AttentionForward and AttentionBackward at GPT-2 124M's shapes; baseline: the scalar causal forward.</summary>
[MemoryDiagnoser]
public class AttentionBench : OpBench
{
    private DeviceTensor _qkv, _output, _attention, _dOutput, _dQkv;
    private float[] _hostQkv = [], _hostOutput = [], _hostScores = [];

    /// <summary>The straightforward version: per (b, h, t) the scores, a softmax and the weighted values, in one thread.</summary>
    [Benchmark(Baseline = true)]
    public void Baseline()
    {
        int hs = C / NH;
        float scale = 1f / MathF.Sqrt(hs);
        for (int b = 0; b < B; b++)
        {
            for (int h = 0; h < NH; h++)
            {
                for (int t = 0; t < T; t++)
                {
                    int q = (b * T + t) * 3 * C + h * hs;
                    float max = float.NegativeInfinity;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int k = (b * T + t2) * 3 * C + C + h * hs;
                        float s = 0;
                        for (int i = 0; i < hs; i++)
                        {
                            s += _hostQkv[q + i] * _hostQkv[k + i];
                        }

                        _hostScores[t2] = s * scale;
                        max = MathF.Max(max, s * scale);
                    }

                    float sum = 0;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        _hostScores[t2] = MathF.Exp(_hostScores[t2] - max);
                        sum += _hostScores[t2];
                    }

                    int o = (b * T + t) * C + h * hs;
                    for (int i = 0; i < hs; i++)
                    {
                        float acc = 0;
                        for (int t2 = 0; t2 <= t; t2++)
                        {
                            acc += _hostScores[t2] * _hostQkv[(b * T + t2) * 3 * C + 2 * C + h * hs + i];
                        }

                        _hostOutput[o + i] = acc / sum;
                    }
                }
            }
        }
    }

    [Benchmark]
    public void Forward()
    {
        Be.AttentionForward(_qkv, _output, _attention);
        Be.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Be.AttentionBackward(_dOutput, _qkv, _attention, _dQkv);
        Be.Synchronize();
    }

    protected override void CreateTensors()
    {
        _qkv = Random([B, T, 3 * C]);
        _output = Random([B, T, C]);
        _attention = Random([B, NH, T, T]);
        _dOutput = Random([B, T, C]);
        _dQkv = Random([B, T, 3 * C]);
        Be.AttentionForward(_qkv, _output, _attention); // real probabilities for the backward
        _hostQkv = Host(Rows * 3 * C);
        _hostOutput = new float[Rows * C];
        _hostScores = new float[T];
    }
}
