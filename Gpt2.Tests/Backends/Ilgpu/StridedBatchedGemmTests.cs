using Gpt2.Backends.Ilgpu.CuBlas;
using Gpt2.Backends.Ilgpu.Ops;

namespace Gpt2.Tests.Backends.Ilgpu;

/// <summary>
/// The row-major → column-major mapping of attention's products onto cuBLAS strided-batched calls, run through a
/// simulation of cuBLAS's documented semantics (argument checks included) and compared with the GEMM kernel's
/// semantics, so the mapping is checked without a GPU.
/// </summary>
public sealed class StridedBatchedGemmTests
{
    private const int OpN = 0;

    [TestCase(2, 5, 12, 3)]
    [TestCase(3, 7, 10, 2)]
    [TestCase(1, 4, 8, 1)]
    [TestCase(2, 1, 6, 2)]
    public void EveryAttentionProductMatchesTheKernelSemantics(int b, int t, int c, int nh)
    {
        var rng = new Random(b * 1000 + t * 100 + c * 10 + nh);
        var p = new AttentionProducts(t, c, nh);
        long square = (long)b * nh * t * t;
        float[] qkv = Random(rng, b * t * 3 * c), dOut = Random(rng, b * t * c);
        float[] att = Causal(Random(rng, square), t), dScores = Causal(Random(rng, square), t);
        int batches = b * nh;

        Check("scores", p.Scores(0.37f), batches, (qkv, 0), (qkv, c), new float[square], 0, t);
        Check("values", p.Values(), batches, (att, 0), (qkv, 2 * c), Random(rng, b * t * c), 0, 0);
        Check("dAttention", p.DAttention(), batches, (dOut, 0), (qkv, 2 * c), Random(rng, square), 0, t);
        Check("dQuery", p.DQuery(), batches, (dScores, 0), (qkv, c), Random(rng, b * t * 3 * c), 0, 0);
        Check("dKey", p.DKey(), batches, (dScores, 0), (qkv, 0), Random(rng, b * t * 3 * c), c, 0);
        Check("dValue", p.DValue(), batches, (att, 0), (dOut, 0), Random(rng, b * t * 3 * c), 2 * c, 0);
    }

    [Test]
    public void ContiguousBatchesFoldIntoOneCall()
    {
        var rng = new Random(5);
        const int m = 3, n = 5, k = 4, heads = 2, batches = 6;
        var args = new GemmArgs
        {
            M = m, N = n, K = k, Heads = heads, Alpha = 1.5f, Accumulate = 1,
            StrideAM = 1, StrideAK = m, HeadA = m * k, BatchA = heads * m * k,
            StrideBK = n, StrideBN = 1, HeadB = k * n, BatchB = heads * k * n,
            StrideCM = n, HeadC = m * n, BatchC = heads * m * n,
        };

        var plan = StridedBatchedGemm.From(args, batches);

        Assert.That((plan.Outer, plan.Batches), Is.EqualTo((1, batches)));
        Check("folded", args, batches, (Random(rng, batches * m * k), 0), (Random(rng, batches * k * n), 0), Random(rng, batches * m * n), 0, 0);
    }

    [Test]
    public void AnOperandWithoutAUnitStrideIsRefused()
    {
        var args = new GemmArgs { M = 2, N = 2, K = 2, Heads = 1, StrideAM = 4, StrideAK = 2, StrideBK = 2, StrideBN = 1, StrideCM = 2 };

        Assert.Throws<NotSupportedException>(() => StridedBatchedGemm.From(args, 1));
    }

    /// <summary>
    /// Runs the product both ways on copies of <paramref name="output"/> and compares every element, except the upper
    /// triangles of a lower-triangle-only output (<paramref name="lowerT"/> = T), which the kernel leaves unwritten.
    /// </summary>
    private static void Check(string name, GemmArgs args, int batches, (float[] Data, int Offset) a, (float[] Data, int Offset) b,
        float[] output, int outputOffset, int lowerT)
    {
        float[] expected = (float[])output.Clone(), actual = (float[])output.Clone();
        Kernel(args, batches, a, b, (expected, outputOffset));
        CuBlas(StridedBatchedGemm.From(args, batches), b, a, (actual, outputOffset));

        for (int i = 0; i < output.Length; i++)
        {
            if (lowerT > 0 && i % lowerT > i / lowerT % lowerT)
            {
                continue;
            }

            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5f + 1e-5f * Math.Abs(expected[i])), $"{name}: element {i}");
        }
    }

    /// <summary>The GEMM kernel's contract: C[m,n] (+)= α·Σk A[m,k]·B[k,n] per (b, h), only n ≤ m for a lower-triangle output.</summary>
    private static void Kernel(GemmArgs g, int batches, (float[] Data, int Offset) a, (float[] Data, int Offset) b, (float[] Data, int Offset) c)
    {
        for (int z = 0; z < batches; z++)
        {
            long zb = z / g.Heads, zh = z % g.Heads;
            long oa = a.Offset + zb * g.BatchA + zh * g.HeadA, ob = b.Offset + zb * g.BatchB + zh * g.HeadB;
            long oc = c.Offset + zb * g.BatchC + zh * g.HeadC;
            for (int m = 0; m < g.M; m++)
            {
                for (int n = 0; n < g.N; n++)
                {
                    if (g.Causal == GemmArgs.LowerC && n > m)
                    {
                        continue;
                    }

                    double sum = 0;
                    for (int k = 0; k < g.K; k++)
                    {
                        sum += (double)a.Data[oa + m * g.StrideAM + k * g.StrideAK] * b.Data[ob + k * g.StrideBK + n * g.StrideBN];
                    }

                    long at = oc + m * g.StrideCM + n;
                    c.Data[at] = (float)(g.Alpha * sum + (g.Accumulate != 0 ? c.Data[at] : 0));
                }
            }
        }
    }

    /// <summary>
    /// cublasGemmStridedBatchedEx as documented: column-major, C = α·op(A)·op(B) + β·C with op(A) m×k, op(B) k×n,
    /// lda ≥ rows of A as stored, ldb likewise, ldc ≥ m (CUBLAS_STATUS_INVALID_VALUE otherwise); here called
    /// <see cref="StridedBatchedGemm.Outer"/> times as the backend does.
    /// </summary>
    private static void CuBlas(StridedBatchedGemm p, (float[] Data, int Offset) a, (float[] Data, int Offset) b, (float[] Data, int Offset) c)
    {
        Assert.That(p.M > 0 && p.N > 0 && p.K > 0 && p.Batches > 0, "sizes");
        Assert.That(p.Lda, Is.GreaterThanOrEqualTo(Math.Max(1, p.TransA == OpN ? p.M : p.K)), "lda");
        Assert.That(p.Ldb, Is.GreaterThanOrEqualTo(Math.Max(1, p.TransB == OpN ? p.K : p.N)), "ldb");
        Assert.That(p.Ldc, Is.GreaterThanOrEqualTo(Math.Max(1, p.M)), "ldc");
        for (int o = 0; o < p.Outer; o++)
        {
            for (int z = 0; z < p.Batches; z++)
            {
                long oa = a.Offset + o * p.OuterA + z * p.StrideA, ob = b.Offset + o * p.OuterB + z * p.StrideB;
                long oc = c.Offset + o * p.OuterC + z * p.StrideC;
                for (int i = 0; i < p.M; i++)
                {
                    for (int j = 0; j < p.N; j++)
                    {
                        double sum = 0;
                        for (int l = 0; l < p.K; l++)
                        {
                            float x = p.TransA == OpN ? a.Data[oa + i + (long)l * p.Lda] : a.Data[oa + l + (long)i * p.Lda];
                            float y = p.TransB == OpN ? b.Data[ob + l + (long)j * p.Ldb] : b.Data[ob + j + (long)l * p.Ldb];
                            sum += (double)x * y;
                        }

                        long at = oc + i + (long)j * p.Ldc;
                        c.Data[at] = (float)(p.Alpha * sum + (p.Beta != 0 ? p.Beta * c.Data[at] : 0));
                    }
                }
            }
        }
    }

    private static float[] Random(Random rng, long length)
    {
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        return values;
    }

    /// <summary>Zeros above each (t, t) matrix's diagonal, as attention's softmax kernels leave them.</summary>
    private static float[] Causal(float[] values, int t)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (i % t > i / t % t)
            {
                values[i] = 0f;
            }
        }

        return values;
    }
}
