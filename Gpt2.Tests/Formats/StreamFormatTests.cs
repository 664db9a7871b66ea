using Gpt2.Backends.Cpu;
using Gpt2.Formats;
using Gpt2.Model;

namespace Gpt2.Tests.Formats;

/// <summary>The stream overloads of the llm.c formats: the same bytes as the files, and the same refusals.</summary>
public sealed class StreamFormatTests
{
    [TestCase("tiny")]
    [TestCase("bf16")]
    public void AModelReadFromAndWrittenToAStreamIsTheFileByteForByte(string fixture)
    {
        byte[] file = File.ReadAllBytes(TestData.Fixture(fixture, "model.bin"));
        var (config, format, parameters) = ModelFile.Read(new MemoryStream(file));
        Assert.That(parameters, Is.EqualTo(ModelFile.Read(TestData.Fixture(fixture, "model.bin")).Parameters));

        using var written = new MemoryStream();
        written.Write([1, 2, 3]); // written at the stream's position, after what is there
        ModelFile.Write(written, config, format, (offset, chunk) => parameters.AsSpan((int)offset, chunk.Length).CopyTo(chunk));
        Assert.That(written.ToArray()[3..], Is.EqualTo(file));
    }

    [Test]
    public void AModelLoadsFromANonSeekableStreamAndSavesToAStream()
    {
        string path = TestData.Fixture("tiny", "model.bin");
        byte[] file = File.ReadAllBytes(path);
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(new ForwardOnlyStream(file), backend);
        using var fromFile = Gpt2Model.Load(path, backend);
        var a = new float[model.Layout.Count];
        var b = new float[model.Layout.Count];
        model.GetParameters(a);
        fromFile.GetParameters(b);
        Assert.That(a, Is.EqualTo(b));

        using var saved = new MemoryStream();
        model.Save(saved);
        Assert.That(saved.ToArray(), Is.EqualTo(file));
    }

    [Test]
    public void ATruncatedOrOverlongStreamIsRefusedNamingTheStream()
    {
        byte[] file = File.ReadAllBytes(TestData.Fixture("tiny", "model.bin"));
        using var backend = new CpuBackend();
        var cut = Assert.Throws<FileFormatException>(() => Gpt2Model.Load(new ForwardOnlyStream(file[..^5]), backend));
        Assert.That(cut!.Message, Does.StartWith("stream: truncated").And.Contain("5 bytes early"));
        var longer = Assert.Throws<FileFormatException>(() => ModelFile.Read(new MemoryStream([.. file, 0])));
        Assert.That(longer!.Message, Does.StartWith("stream: too long"));
        var shard = Assert.Throws<FileFormatException>(() => TokenShard.Read(new MemoryStream(file)));
        Assert.That(shard!.Message, Does.StartWith("stream: not a llm.c token shard: magic is 20240326"));
    }

    [Test]
    public void AShardRoundTripsThroughAStream()
    {
        ushort[] tokens = [50256, 7, 65535, 0, 13];
        using var stream = new MemoryStream();
        TokenShard.Write(stream, tokens);
        Assert.That(stream.Length, Is.EqualTo(1024 + 2 * tokens.Length));
        stream.Position = 0;
        Assert.That(TokenShard.Read(stream), Is.EqualTo(tokens));
        var cut = Assert.Throws<FileFormatException>(() => TokenShard.Read(new ForwardOnlyStream(stream.ToArray()[..^1])));
        Assert.That(cut!.Message, Does.StartWith("stream: truncated"));
    }

    /// <summary>A stream that can only be read forward, as a network or decompression stream.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 333));

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
