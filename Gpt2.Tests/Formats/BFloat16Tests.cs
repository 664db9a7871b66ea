using Gpt2.Formats;

namespace Gpt2.Tests.Formats;

public sealed class BFloat16Tests
{
    private static float Wide(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    [TestCase(1.00390625f)]      // halfway between 1 and 1.0078125
    [TestCase(3.14159265f)]
    [TestCase(-0.0001234f)]
    [TestCase(-7.77e20f)]
    [TestCase(1e-39f)]           // subnormal
    public void StochasticRoundingIsUnbiasedAndPicksANeighbour(float value)
    {
        ushort down = (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16);
        var neighbours = new[] { down, (ushort)(down + 1) };
        const int n = 200_000;
        double sum = 0;
        for (uint i = 0; i < n; i++)
        {
            ushort r = BFloat16.FromSingleStochastic(value, BFloat16.RoundingNoise(i, 1234));
            Assert.That(neighbours, Does.Contain(r), "one of the two bf16 numbers around the value");
            sum += Wide(r);
        }

        // the spacing of the neighbours bounds one draw's error; the mean's error shrinks as 1/√n
        double gap = Math.Abs(Wide(neighbours[1]) - Wide(neighbours[0]));
        Assert.That(Math.Abs(sum / n - value), Is.LessThan(Math.Max(1e-4 * Math.Abs(value), 4 * gap / Math.Sqrt(n))), "the mean of many roundings is the value");
    }

    [Test]
    public void StochasticRoundingIsDeterministicForASeedAndLeavesExactValuesAlone()
    {
        var a = Enumerable.Range(0, 1000).Select(i => BFloat16.FromSingleStochastic(i * 0.001f + 0.3f, BFloat16.RoundingNoise((uint)i, 42))).ToArray();
        var b = Enumerable.Range(0, 1000).Select(i => BFloat16.FromSingleStochastic(i * 0.001f + 0.3f, BFloat16.RoundingNoise((uint)i, 42))).ToArray();
        var c = Enumerable.Range(0, 1000).Select(i => BFloat16.FromSingleStochastic(i * 0.001f + 0.3f, BFloat16.RoundingNoise((uint)i, 43))).ToArray();
        Assert.That(a, Is.EqualTo(b), "same seed, same bits");
        Assert.That(a, Is.Not.EqualTo(c), "another seed, another draw");
        foreach (float exact in new[] { 0f, 1f, -2.5f, 0.1875f, float.PositiveInfinity })
        {
            for (uint i = 0; i < 100; i++)
            {
                Assert.That(BFloat16.FromSingleStochastic(exact, BFloat16.RoundingNoise(i, 7)), Is.EqualTo(BFloat16.FromSingle(exact)), $"{exact}");
            }
        }

        Assert.That(float.IsNaN(Wide(BFloat16.FromSingleStochastic(float.NaN, 0))), Is.True);
    }

    [Test]
    public void TheNoiseIsSquirrelNoise5()
    {
        // outputs of the reference SquirrelNoise5 (as llm.c compiles it) for these (position, seed) pairs
        Assert.That(BFloat16.RoundingNoise(0, 0), Is.EqualTo(377036288u));
        Assert.That(BFloat16.RoundingNoise(1, 0), Is.EqualTo(3365260061u));
        Assert.That(BFloat16.RoundingNoise(12345, 987654321), Is.EqualTo(67270747u));
        // roughly uniform low 16 bits: each quarter of the range gets about a quarter of 40,000 draws
        var quarters = new int[4];
        for (uint i = 0; i < 40_000; i++)
        {
            quarters[(BFloat16.RoundingNoise(i, 5) & 0xFFFF) >> 14]++;
        }

        Assert.That(quarters, Is.All.InRange(9_500, 10_500));
    }
}
