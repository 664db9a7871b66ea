using System.Buffers.Binary;
using System.Text;
using Gpt2.Formats;
using Gpt2.HuggingFace;

namespace Gpt2.Tests.HuggingFace;

public sealed class SafetensorsFileTests : TempDirectoryTest
{
    /// <summary>A file from a header and a data section, as the format frames them.</summary>
    private string Write(string header, byte[] data, ulong? headerLength = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLength ?? (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        string path = Path.Combine(TempDir, $"{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, file);
        return path;
    }

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Test]
    public void ReadsEveryFloatTypeAsFloat32()
    {
        var data = Floats(1.5f, -2f)
            .Concat(BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)0.25f)))
            .Concat(BitConverter.GetBytes((ushort)0x4049)) // bf16 3.140625
            .Concat(BitConverter.GetBytes(-0.5)).ToArray();
        string path = Write("""
            {"__metadata__":{"format":"pt"},
             "b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},
             "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
             "c":{"dtype":"BF16","shape":[1,1],"data_offsets":[10,12]},
             "d":{"dtype":"F64","shape":[],"data_offsets":[12,20]}}
            """, data);
        using var file = SafetensorsFile.Open(path);

        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "a", "b", "c", "d" }), "in data order");
        Assert.That(file.Metadata["format"], Is.EqualTo("pt"));
        float Single(string name, int n)
        {
            Assert.That(file.TryGetTensor(name, out var t), Is.True);
            var v = new float[n];
            file.ReadSingle(t!, v);
            return v[^1];
        }

        Assert.That(Single("a", 2), Is.EqualTo(-2f));
        Assert.That(Single("b", 1), Is.EqualTo(0.25f));
        Assert.That(Single("c", 1), Is.EqualTo(3.140625f));
        Assert.That(Single("d", 1), Is.EqualTo(-0.5f));
    }

    private const string OneTensor = """{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}""";

    [TestCase(OneTensor, 16, "", TestName = "A valid file opens")]
    [TestCase(OneTensor, 12, "tensor 'w' ends at byte 16, past the 12-byte data section", TestName = "Truncated data")]
    [TestCase(OneTensor, 20, "the tensors cover 16 bytes but the data section has 20", TestName = "Trailing bytes")]
    [TestCase("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}""", 16, "not valid JSON", TestName = "Invalid JSON")]
    [TestCase("""[1,2]""", 0, "not a JSON object", TestName = "A header that is not an object")]
    [TestCase("""{"w":{"dtype":"F33","shape":[4],"data_offsets":[0,16]}}""", 16, "tensor 'w': unknown dtype 'F33'", TestName = "Unknown dtype")]
    [TestCase("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", 16, "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets [0, 16] hold 16", TestName = "Shape and byte count disagree")]
    [TestCase("""{"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}""", 16, "tensor 'w': shape [-4] is not a list of non-negative integers", TestName = "Negative dimension")]
    [TestCase("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}""", 16, "tensor 'w': data_offsets is not [begin, end]", TestName = "Reversed offsets")]
    [TestCase("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"v":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16, "tensor 'v' (bytes 8..16) overlaps the tensor before it", TestName = "Overlapping tensors")]
    [TestCase("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16, "tensor 'w' starts at byte 8, leaving a gap after byte 0", TestName = "A gap before a tensor")]
    [TestCase("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[0],"data_offsets":[16,16]}}""", 16, "names 'w' twice", TestName = "Duplicate key")]
    [TestCase("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"code":"x"}}""", 16, "tensor 'w': unknown field 'code'", TestName = "Unknown field")]
    [TestCase("""{"__metadata__":{"format":1}}""", 0, "__metadata__ value 'format' is not a string", TestName = "Metadata that is not strings")]
    public void HeaderChecks(string header, int dataBytes, string problem)
    {
        string path = Write(header, new byte[dataBytes]);
        if (problem.Length == 0)
        {
            using var file = SafetensorsFile.Open(path);
            Assert.That(file.Tensors.Single().ElementCount, Is.EqualTo(4));
            return;
        }

        var e = Assert.Throws<FileFormatException>(() => SafetensorsFile.Open(path));
        Assert.That(e!.Message, Does.StartWith(path).And.Contain(problem), "the file and the tensor are named");
    }

    [Test]
    public void AHugeHeaderLengthIsRefusedBeforeAnythingIsRead()
    {
        string path = Write(OneTensor, new byte[16], headerLength: 1UL << 40);
        var e = Assert.Throws<FileFormatException>(() => SafetensorsFile.Open(path));
        Assert.That(e!.Message, Does.Contain("exceeds the 100000000-byte limit"));
    }

    [Test]
    public void AHeaderLengthPastTheEndIsRefused()
    {
        string path = Write(OneTensor, new byte[16], headerLength: 5000);
        var e = Assert.Throws<FileFormatException>(() => SafetensorsFile.Open(path));
        Assert.That(e!.Message, Does.Contain("runs past the end"));
    }

    [Test]
    public void InvalidUtf8IsRefused()
    {
        string path = Write("{\"\uFFFD\":1}", []);
        var bytes = File.ReadAllBytes(path);
        int at = Array.IndexOf(bytes, (byte)0xEF);
        bytes[at] = 0xFF; // not UTF-8 anywhere
        File.WriteAllBytes(path, bytes);
        Assert.That(Assert.Throws<FileFormatException>(() => SafetensorsFile.Open(path))!.Message, Does.Contain("not valid JSON"));
    }

    [Test]
    public void AFileTooShortForTheLengthIsRefused()
    {
        string path = Path.Combine(TempDir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(Assert.Throws<FileFormatException>(() => SafetensorsFile.Open(path))!.Message, Does.Contain("too short"));
        Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(Path.Combine(TempDir, "absent.safetensors")));
    }

    [Test]
    public void IntegerTensorsAreNotReadAsFloats()
    {
        string path = Write("""{"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}""", new byte[16]);
        using var file = SafetensorsFile.Open(path);
        Assert.That(file.TryGetTensor("i", out var t), Is.True);
        var e = Assert.Throws<FileFormatException>(() => file.ReadSingle(t!, new float[2]));
        Assert.That(e!.Message, Does.Contain("tensor 'i' is I64"));
        Assert.Throws<ArgumentException>(() => file.ReadSingle(t!, new float[3]));
    }
}
