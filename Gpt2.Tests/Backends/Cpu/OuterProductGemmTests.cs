using Gpt2.Backends.Cpu;
using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Tests.Backends.Cpu;

/// <summary>
/// The matmuls' GEMM against a float64 triple loop on shapes that cut its 6×16 tiles, 256-deep chunks, 8×8
/// transposes and 96×128 task blocks raggedly, for the layouts of the forward and of both backward products; and
/// bit-identical for 1 and 3 threads.
/// </summary>
public sealed unsafe class OuterProductGemmTests
{
    [TestCase(389, 131, 517, false, false, TestName = "A row-major (dInput): 389 x 131, K 517")]
    [TestCase(389, 131, 517, true, false, TestName = "A column-major (dWeight): 389 x 131, K 517")]
    [TestCase(389, 131, 517, false, true, TestName = "B transposed (forward): 389 x 131, K 517")]
    [TestCase(30, 45, 21, false, true, TestName = "B transposed, K not a multiple of 8")]
    [TestCase(7, 17, 3, false, false, TestName = "smaller than one tile")]
    [TestCase(12, 32, 300, true, false, TestName = "A columns 4 KiB apart: copied before use")]
    public void EqualsTheTripleLoopAndIgnoresTheThreadCount(int m, int n, int k, bool columnMajor, bool transposedB)
    {
        var rng = new Random(m * 7 + n * 3 + k);
        // A(i,k) at a[i·aRow + k·aDepth]; the 4 KiB case pads each column of A to 1024 floats
        long aRow = columnMajor ? 1 : k, aDepth = columnMajor ? (m <= 1024 && k == 300 ? 1024 : m) : 1;
        float[] a = TestData.RandomFloats(rng, (int)Math.Max((m - 1) * aRow + (k - 1) * aDepth + 1, 1));
        float[] b = TestData.RandomFloats(rng, k * n);
        var bt = new float[k * n]; // the same B stored by columns, as a weight matrix in the forward
        for (int kk = 0; kk < k; kk++)
        {
            for (int j = 0; j < n; j++)
            {
                bt[j * k + kk] = b[kk * n + j];
            }
        }

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
            fixed (float* pa = a, pb = transposedB ? bt : b, pc = c)
            {
                OuterProductGemm.Run(new CpuParallel(threads), pa, aRow, aDepth, pb, transposedB ? k : n, transposedB, pc, n, m, n, k);
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

    [TestCase(true)]
    [TestCase(false)]
    public void AForwardOfManyRowsEqualsTheDotProductForm(bool withBias)
    {
        // 37 rows take the outer-product path; the dot-product form (used below 24 rows) is the reference
        const int rows = 37, c = 70, oc = 133;
        var rng = new Random(3);
        float[] x = TestData.RandomFloats(rng, rows * c), w = TestData.RandomFloats(rng, oc * c), bias = TestData.RandomFloats(rng, oc);
        var outer = new float[rows * oc];
        var dot = new float[rows * oc];
        Array.Fill(outer, float.NaN);
        fixed (float* px = x, pw = w, pb = bias, po = outer, pd = dot)
        {
            var parallel = new CpuParallel(2);
            Matmul.Forward(parallel, px, pw, withBias ? pb : null, po, rows, c, oc);
            Matmul.Dot(parallel, px, pw, withBias ? pb : null, pd, rows, c, oc);
        }

        Assert.That(outer, Is.EqualTo(dot).Within(1e-5f));
    }
}
