using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Text;

namespace Gpt2.Tests.Data;

public sealed class TinyShakespeareTests
{
    [Test]
    public void TokenizesLikeLlmc()
    {
        var (val, train) = TinyShakespeare.Tokenize(File.ReadAllText(TestData.TinyShakespeareText), Gpt2Tokenizer.Instance);
        Assert.That(val, Has.Length.EqualTo(32768));
        Assert.That(train, Has.Length.EqualTo(305260));
        // the first section: EOT, "First Citizen:\nBefore we proceed ..."
        Assert.That(val[..4], Is.EqualTo(new ushort[] { 50256, 5962, 22307, 25 }));
        Assert.That(val.Concat(train).Count(t => t == Gpt2Tokenizer.EndOfText), Is.EqualTo(File.ReadAllText(TestData.TinyShakespeareText).Split("\n\n").Length));
    }

    [Test]
    public async Task PrepareAsyncWritesBothShardsFromALocalCopy()
    {
        string dir = TestData.NewTempDirectory();
        try
        {
            var (val, train) = await TinyShakespeare.PrepareAsync(dir, TestData.TinyShakespeareText);
            Assert.That(val, Is.EqualTo(Path.Combine(dir, TinyShakespeare.ValidationFileName)));
            Assert.That(train, Is.EqualTo(Path.Combine(dir, TinyShakespeare.TrainFileName)));
            Assert.That(TokenShard.ReadTokenCount(val), Is.EqualTo(32768));
            Assert.That(TokenShard.ReadTokenCount(train), Is.EqualTo(305260));
            Assert.That(File.Exists(Path.Combine(dir, "tiny_shakespeare.txt")), Is.False, "a local copy is not downloaded again");
            string missing = Path.Combine(dir, "nope.txt");
            var e = Assert.ThrowsAsync<FileNotFoundException>(() => TinyShakespeare.PrepareAsync(dir, missing));
            Assert.That(e!.Message, Does.Contain(missing));
        }
        finally
        {
            TestData.Delete(dir);
        }
    }
}
