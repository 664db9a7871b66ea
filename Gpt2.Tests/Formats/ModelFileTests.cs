using System.Buffers.Binary;
using Gpt2.Formats;

namespace Gpt2.Tests.Formats;

public sealed class ModelFileTests : TempDirectoryTest
{
    [TestCase("tiny")]
    [TestCase("bf16")]
    public void RoundTripIsByteExact(string fixture)
    {
        string source = TestData.Fixture(fixture, "model.bin");
        var (config, format, parameters) = ModelFile.Read(source);
        string copy = Path.Combine(TempDir, "copy.bin");
        ModelFile.Write(copy, config, format, parameters);
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(File.ReadAllBytes(source)));
        Assert.That(Directory.GetFiles(TempDir), Has.Length.EqualTo(1), "no temporary file is left behind");
    }

    [Test]
    public void HeaderHoldsTheConfig()
    {
        var (config, format) = ModelFile.ReadHeader(TestData.Fixture("hot", "model.bin"));
        Assert.That(format, Is.EqualTo(ModelFileFormat.Float32));
        Assert.That(config, Is.EqualTo(new Gpt2Config(maxSequenceLength: 9, vocabularySize: 100, paddedVocabularySize: 128, layerCount: 2, headCount: 3, channelCount: 21)));
        Assert.That(ModelFile.ReadHeader(TestData.Fixture("bf16", "model.bin")).Format, Is.EqualTo(ModelFileFormat.BFloat16));
    }

    [Test]
    public void Bf16IsWidenedExactlyAndRoundedToNearestEven()
    {
        var config = new Gpt2Config(maxSequenceLength: 2, vocabularySize: 3, paddedVocabularySize: 4, layerCount: 1, headCount: 1, channelCount: 2);
        var p = new float[new Gpt2.Model.ParameterLayout(config).Count];
        p[0] = 1.00390625f;           // exactly halfway between bf16 1.0 and 1.0078125: ties to even (1.0)
        p[1] = 1.01171875f;           // halfway between 1.0078125 and 1.015625: ties to even (1.015625)
        p[2] = -3.140625f;            // representable
        string path = Path.Combine(TempDir, "m.bin");
        ModelFile.Write(path, config, ModelFileFormat.BFloat16, p);
        Assert.That(new FileInfo(path).Length, Is.EqualTo(1024 + p.Length * 2));
        var (_, format, back) = ModelFile.Read(path);
        Assert.That(format, Is.EqualTo(ModelFileFormat.BFloat16));
        Assert.That(back[..3], Is.EqualTo(new[] { 1.0f, 1.015625f, -3.140625f }));
    }

    [Test]
    public void WrongMagicNamesTheFile()
    {
        string path = Corrupt(bytes => BinaryPrimitives.WriteInt32LittleEndian(bytes, 20240520));
        var e = Assert.Throws<FileFormatException>(() => ModelFile.ReadHeader(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("magic"));
    }

    [Test]
    public void UnsupportedVersionIsRejected()
    {
        string path = Corrupt(bytes => BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 4));
        var e = Assert.Throws<FileFormatException>(() => ModelFile.Read(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("version 4"));
    }

    [Test]
    public void TruncatedFileIsRejected()
    {
        string path = Path.Combine(TempDir, "short.bin");
        var bytes = File.ReadAllBytes(TestData.Fixture("tiny", "model.bin"));
        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<FileFormatException>(() => ModelFile.Read(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("truncated"));
        File.WriteAllBytes(path, bytes[..100]);
        e = Assert.Throws<FileFormatException>(() => ModelFile.ReadHeader(path));
        Assert.That(e!.Message, Does.Contain("header"));
    }

    [Test]
    public void NonsenseHeaderIsRejected()
    {
        string path = Corrupt(bytes => BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(5 * 4), 5)); // NH=5 does not divide C=12
        var e = Assert.Throws<FileFormatException>(() => ModelFile.ReadHeader(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("NH=5"));
    }

    [Test]
    public void MissingFileIsNamed()
    {
        string path = Path.Combine(TempDir, "nope.bin");
        var e = Assert.Throws<FileNotFoundException>(() => ModelFile.ReadHeader(path));
        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void FailedWriteLeavesTheOldFileIntact()
    {
        string path = Path.Combine(TempDir, "m.bin");
        File.WriteAllText(path, "old");
        var config = new Gpt2Config(maxSequenceLength: 2, vocabularySize: 3, paddedVocabularySize: 4, layerCount: 1, headCount: 1, channelCount: 2);
        Assert.Throws<InvalidOperationException>(() =>
            ModelFile.Write(path, config, ModelFileFormat.Float32, (_, _) => throw new InvalidOperationException("crash mid-write")));
        Assert.That(File.ReadAllText(path), Is.EqualTo("old"));
        Assert.That(Directory.GetFiles(TempDir), Is.EqualTo(new[] { path }), "the temporary file is removed");
    }

    private string Corrupt(Action<byte[]> edit)
    {
        var bytes = File.ReadAllBytes(TestData.Fixture("tiny", "model.bin"));
        edit(bytes);
        string path = Path.Combine(TempDir, "bad.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
