using Gpt2.Formats;

namespace Gpt2.Tests.Formats;

public sealed class TokenShardTests : TempDirectoryTest
{
    [Test]
    public void WritesLlmcLayout()
    {
        string path = Path.Combine(TempDir, "s.bin");
        TokenShard.Write(path, new ushort[] { 50256, 1, 65535 });
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes, Has.Length.EqualTo(1024 + 6));
        Assert.That(BitConverter.ToInt32(bytes, 0), Is.EqualTo(20240520));
        Assert.That(BitConverter.ToInt32(bytes, 4), Is.EqualTo(1));
        Assert.That(BitConverter.ToInt32(bytes, 8), Is.EqualTo(3));
        Assert.That(bytes.AsSpan(12, 1024 - 12).ToArray(), Is.All.EqualTo((byte)0));
        Assert.That(TokenShard.Read(path), Is.EqualTo(new ushort[] { 50256, 1, 65535 }));
        Assert.That(TokenShard.ReadTokenCount(path), Is.EqualTo(3));
    }

    [Test]
    public void LengthMismatchIsRejected()
    {
        string path = Path.Combine(TempDir, "s.bin");
        TokenShard.Write(path, new ushort[10]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^2]);
        var e = Assert.Throws<FileFormatException>(() => TokenShard.Read(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("10 tokens"));
        var m = Assert.Throws<FileFormatException>(() => TokenShard.Read(TestData.Fixture("tiny", "model.bin")));
        Assert.That(m!.Message, Does.Contain("magic"));
    }
}
