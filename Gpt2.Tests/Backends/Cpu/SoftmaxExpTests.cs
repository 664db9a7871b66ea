using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Tests.Backends.Cpu;

public sealed unsafe class SoftmaxExpTests
{
    [Test]
    public void ExpIsWithinTwoUlpOfTheExactValueAndZeroBelowTheNormalRange()
    {
        // every 1/1024 from -100 to 0, plus the edges: e^0, the smallest normal's neighbourhood
        var x = Enumerable.Range(0, 102_401).Select(i => -i / 1024f).Concat([-87.33654f, -87.3365f, -87.336f, -1e-30f, -0f]).ToArray();
        var p = new float[x.Length];
        double sum;
        fixed (float* px = x, pp = p)
        {
            sum = SoftmaxExp.ExpSum(px, 0f, pp, x.Length);
        }

        double exactSum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Exp(x[i]);
            exactSum += exact;
            if (x[i] < -87.33654f)
            {
                Assert.That(p[i], Is.Zero, $"e^{x[i]} is under the smallest normal float");
                continue;
            }

            double ulp = (double)MathF.BitIncrement((float)exact) - (float)exact;
            Assert.That(Math.Abs(p[i] - exact), Is.LessThanOrEqualTo(2 * ulp), $"e^{x[i]}");
        }

        Assert.That(sum, Is.EqualTo(exactSum).Within(1e-5).Percent, "summed in double: only the terms' own rounding (≤ 2 ulp each) remains");
    }

    [Test]
    public void TheShiftIsSubtractedAndTheTailMatchesTheVectorLanes()
    {
        // the same values at every position of a row: vector lanes and the scalar tail give the same bits
        var rng = new Random(3);
        var values = Enumerable.Range(0, 37).Select(_ => (float)(rng.NextDouble() * 30 - 25)).ToArray();
        float max = values.Max();
        var single = new float[1];
        var row = new float[values.Length];
        fixed (float* pv = values, pr = row, ps = single)
        {
            SoftmaxExp.ExpSum(pv, max, pr, values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                SoftmaxExp.ExpSum(pv + i, max, ps, 1);
                Assert.That(row[i], Is.EqualTo(single[0]), $"element {i}");
            }
        }

        Assert.That(row.Max(), Is.EqualTo(1f), "e^(max - max)");
    }
}
