using Gpt2.Backends.Cpu;
using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Tests.Backends.Cpu;

/// <summary>
/// The backward's GEMM against a float64 triple loop on shapes that cut its 6×16 tiles, 256-deep chunks and
/// 96×128 task blocks raggedly, for both ways the backward lays out A; and bit-identical for 1 and 3 threads.
/// </summary>
public sealed unsafe class OuterProductGemmTests
{
    [TestCase(389, 131, 517, false, TestName = "A row-major (dInput): 389 x 131, K 517")]
    [TestCase(389, 131, 517, true, TestName = "A column-major (dWeight): 389 x 131, K 517")]
    [TestCase(7, 17, 3, false, TestName = "smaller than one tile")]
    [TestCase(12, 32, 300, true, TestName = "A columns 4 KiB apart: copied before use")]
    public void EqualsTheTripleLoopAndIgnoresTheThreadCount(int m, int n, int k, bool columnMajor)
    {
        var rng = new Random(m * 7 + n * 3 + k);
        // A(i,k) at a[i·aRow + k·aDepth]; the 4 KiB case pads each column of A to 1024 floats
        long aRow = columnMajor ? 1 : k, aDepth = columnMajor ? (m <= 1024 && k == 300 ? 1024 : m) : 1;
        float[] a = TestData.RandomFloats(rng, (int)Math.Max((m - 1) * aRow + (k - 1) * aDepth + 1, 1));
        float[] b = TestData.RandomFloats(rng, k * n);
        float[] c0 = TestData.RandomFloats(rng, m * n);
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = c0[i * n + j];
                for (int kk = 0; kk < k; kk++)
                {
                    sum += (double)a[i * aRow + kk * aDepth] * b[kk * n + j];
                }

                expected[i * n + j] = sum;
            }
        }

        float[] Run(int threads)
        {
            var c = (float[])c0.Clone();
            fixed (float* pa = a, pb = b, pc = c)
            {
                OuterProductGemm.Run(new CpuParallel(threads), pa, aRow, aDepth, pb, n, pc, n, m, n, k);
            }

            return c;
        }

        var one = Run(1);
        for (int i = 0; i < one.Length; i++)
        {
            Assert.That(one[i], Is.EqualTo(expected[i]).Within(2e-5 * Math.Sqrt(k) + 1e-6), $"C[{i / n},{i % n}]");
        }

        Assert.That(Run(3), Is.EqualTo(one), "the same bits with 3 threads");
    }
}
