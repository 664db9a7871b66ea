using Gpt2.Data;
using Gpt2.Formats;

namespace Gpt2.Tests.Data;

public sealed class DataLoaderTests : TempDirectoryTest
{
    [Test]
    public void BatchesAreConsecutiveWithShiftedTargets()
    {
        // 2 shards of 0..24 and 100..124; B=2, T=3: each shard holds (25-1)/6 = 4 batches
        Shard("a_000.bin", 0, 25);
        Shard("a_001.bin", 100, 25);
        var loader = new DataLoader(Path.Combine(TempDir, "a_*.bin"), 2, 3, 1000);
        Assert.That(loader.Shards.Select(Path.GetFileName), Is.EqualTo(new[] { "a_000.bin", "a_001.bin" }));
        Assert.That(loader.BatchesPerEpoch, Is.EqualTo(8));
        var firsts = new List<int>();
        for (int i = 0; i < 9; i++)
        {
            loader.NextBatch();
            Assert.That(loader.Targets, Is.EqualTo(loader.Inputs.Select(x => x + 1)), $"batch {i}");
            Assert.That(loader.Inputs, Is.EqualTo(Enumerable.Range(loader.Inputs[0], 6)), $"batch {i}");
            firsts.Add(loader.Inputs[0]);
        }

        Assert.That(firsts, Is.EqualTo(new[] { 0, 6, 12, 18, 100, 106, 112, 118, 0 }), "wraps to the first shard");
    }

    [Test]
    public void RanksTakeInterleavedSlices()
    {
        Shard("s.bin", 0, 50);
        var r0 = new DataLoader(Path.Combine(TempDir, "s.bin"), 1, 4, 1000, rank: 0, worldSize: 3);
        var r2 = new DataLoader(Path.Combine(TempDir, "s.bin"), 1, 4, 1000, rank: 2, worldSize: 3);
        r0.NextBatch();
        r2.NextBatch();
        Assert.That(r0.Inputs, Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(r2.Inputs, Is.EqualTo(new[] { 8, 9, 10, 11 }));
        r2.NextBatch();
        Assert.That(r2.Inputs, Is.EqualTo(new[] { 20, 21, 22, 23 }));
    }

    [Test]
    public void PositionResumesExactly()
    {
        Shard("s.bin", 0, 40);
        var a = new DataLoader(Path.Combine(TempDir, "s.bin"), 1, 5, 1000);
        a.NextBatch();
        a.NextBatch();
        var saved = a.Position;
        a.NextBatch();
        var expected = a.Inputs.ToArray();
        var b = new DataLoader(Path.Combine(TempDir, "s.bin"), 1, 5, 1000);
        b.Seek(saved);
        b.NextBatch();
        Assert.That(b.Inputs, Is.EqualTo(expected));
    }

    [Test]
    public void ShortShardIsRejected()
    {
        Shard("s.bin", 0, 6);
        var e = Assert.Throws<FileFormatException>(() => new DataLoader(Path.Combine(TempDir, "s.bin"), 2, 3, 1000));
        Assert.That(e!.Message, Does.Contain("s.bin").And.Contain("holds 6 tokens"));
    }

    [Test]
    public void TokenOutsideVocabularyIsRejected()
    {
        Shard("s.bin", 95, 10);
        var loader = new DataLoader(Path.Combine(TempDir, "s.bin"), 1, 3, 100);
        var e = Assert.Throws<FileFormatException>(loader.NextBatch);
        Assert.That(e!.Message, Does.Contain("s.bin").And.Contain("token 100 at index 5"));
    }

    [Test]
    public void MissingShardsAreNamed()
    {
        string pattern = Path.Combine(TempDir, "none_*.bin");
        var e = Assert.Throws<FileNotFoundException>(() => new DataLoader(pattern, 1, 1, 10));
        Assert.That(e!.Message, Does.Contain(pattern));
    }

    private void Shard(string name, int first, int count) =>
        TokenShard.Write(Path.Combine(TempDir, name), Enumerable.Range(first, count).Select(i => (ushort)i).ToArray());
}
