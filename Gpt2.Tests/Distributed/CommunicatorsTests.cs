using Gpt2.Distributed;

namespace Gpt2.Tests.Distributed;

public sealed class CommunicatorsTests
{
    [TestCase(10L, 3, new[] { 4, 3, 3 })]
    [TestCase(7L, 7, new[] { 1, 1, 1, 1, 1, 1, 1 })]
    [TestCase(2L, 4, new[] { 1, 1, 0, 0 })]
    public void SplitCoversTheVectorInNearlyEqualParts(long length, int parts, int[] expected)
    {
        var counts = Communicators.Split(length, parts);
        Assert.That(counts, Is.EqualTo(expected));
        Assert.That(Communicators.Offset(counts, parts - 1) + counts[^1], Is.EqualTo(length));
    }

    [Test]
    public void TheSingleProcessCommunicatorIsTheIdentityAndChecksItsArguments()
    {
        var local = LocalCommunicator.Instance;
        Assert.That((local.Rank, local.Size), Is.EqualTo((0, 1)));
        float[] values = [1, 2, 3];
        local.AllReduceSum(values);
        local.Broadcast(values, 0);
        var output = new float[3];
        local.ReduceScatterSum(values, output, [3]);
        Assert.That(output, Is.EqualTo(values));
        Assert.Throws<ArgumentException>(() => local.ReduceScatterSum(values, output, [2]), "counts must add up to the vector");
        Assert.Throws<ArgumentException>(() => local.ReduceScatterSum(values, output, [1, 2]), "one count per process");
        Assert.Throws<ArgumentOutOfRangeException>(() => local.Broadcast(values, 1), "there is no rank 1");
    }
}
