using System.Buffers.Binary;
using Gpt2.Formats;

namespace Gpt2.Tests.Formats;

public sealed class DebugStateTests : TempDirectoryTest
{
    [Test]
    public void ReadsAndRewritesByteExact()
    {
        var config = ModelFile.ReadHeader(TestData.Fixture("hot", "model.bin")).Config;
        string source = TestData.Fixture("hot", "state.bin");
        var state = DebugState.Read(source, config);
        Assert.That((state.BatchSize, state.SequenceLength), Is.EqualTo((3, 7)));
        Assert.That(state.Logits, Has.Length.EqualTo(3 * 7 * 100));
        Assert.That(state.Loss, Is.EqualTo(10.781811f).Within(1e-5f));
        string copy = Path.Combine(TempDir, "s.bin");
        state.Write(copy);
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(File.ReadAllBytes(source)));
    }

    [Test]
    public void TokenOutsideVocabularyIsRejected()
    {
        var config = ModelFile.ReadHeader(TestData.Fixture("hot", "model.bin")).Config;
        var bytes = File.ReadAllBytes(TestData.Fixture("hot", "state.bin"));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1024 + 4 * 2), 100); // third input token = V
        string path = Path.Combine(TempDir, "bad.bin");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<FileFormatException>(() => DebugState.Read(path, config));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("token 100 at position 2"));
    }

    [Test]
    public void StateOfAnotherModelIsRejected()
    {
        var other = ModelFile.ReadHeader(TestData.Fixture("tiny", "model.bin")).Config;
        string path = TestData.Fixture("hot", "state.bin");
        var e = Assert.Throws<FileFormatException>(() => DebugState.Read(path, other));
        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void WrongMagicAndTruncationAreRejected()
    {
        var config = ModelFile.ReadHeader(TestData.Fixture("tiny", "model.bin")).Config;
        string path = Path.Combine(TempDir, "bad.bin");
        var e = Assert.Throws<FileFormatException>(() => DebugState.Read(TestData.Fixture("tiny", "model.bin"), config));
        Assert.That(e!.Message, Does.Contain("magic"));
        File.WriteAllBytes(path, File.ReadAllBytes(TestData.Fixture("tiny", "state.bin"))[..^1]);
        e = Assert.Throws<FileFormatException>(() => DebugState.Read(path, config));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("truncated"));
        Assert.Throws<FileNotFoundException>(() => DebugState.Read(Path.Combine(TempDir, "missing.bin"), config));
    }
}
