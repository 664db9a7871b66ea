using Gpt2.Data;
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
}
