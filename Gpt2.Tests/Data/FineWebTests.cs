using System.Text;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Tests.IO;
using Gpt2.Tests.Samples;
using Gpt2.Text;
using Parquet;
using Parquet.Serialization;

namespace Gpt2.Tests.Data;

/// <summary>
/// FineWeb into shards as llm.c's fineweb.py: parquet files written here with a few hundred short documents in
/// several row groups, and the expected shards cut independently from the documents' tokens.
/// </summary>
public sealed class FineWebTests : TempDirectoryTest
{
    public sealed class Doc
    {
        [System.Text.Json.Serialization.JsonPropertyName("text")]
        public string? Text { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("id")]
        public string? Id { get; set; }
    }

    private static List<string> Documents()
    {
        var lines = File.ReadLines(TestData.TinyShakespeareText).Where(l => l.Length > 0).Take(300).ToList();
        var docs = lines.Select((l, i) => i % 7 == 0 ? string.Join("\n", lines.Skip(i).Take(12)) : l).ToList();
        docs[5] = "a literal <|endoftext|> inside a document is text, not the special token";
        docs[6] = "naïve café — 東京 🙂";
        return docs;
    }

    private string WriteParquet(string name, IEnumerable<string> docs)
    {
        string dir = Path.Combine(TempDir, "parquet");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        ParquetSerializer.SerializeAsync(docs.Select((t, i) => new Doc { Text = t, Id = $"<urn:{i}>" }), path,
            new ParquetOptions { RowGroupSize = 40 }).GetAwaiter().GetResult();
        return path;
    }

    /// <summary>fineweb.py's cut, from the documents' tokens: shards of n, the last partial; shard 0 is val.</summary>
    private static List<ushort[]> ExpectedShards(IEnumerable<string> docs, int n)
    {
        var all = new List<ushort>();
        foreach (string d in docs)
        {
            all.Add(Gpt2Tokenizer.EndOfText);
            all.AddRange(Gpt2Tokenizer.Instance.EncodeOrdinary(d).Select(t => (ushort)t));
        }

        return all.Chunk(n).Select(c => c.ToArray()).ToList();
    }

    [Test]
    public void ShardsAreFinewebPysCut()
    {
        var docs = Documents();
        var files = new[] { WriteParquet("000_00000.parquet", docs.Take(170)), WriteParquet("001_00000.parquet", docs.Skip(170)) };
        string output = Path.Combine(TempDir, "shards");
        var written = FineWeb.PrepareAsync(files, output, shardTokens: 1000).GetAwaiter().GetResult();
        var expected = ExpectedShards(docs, 1000);
        Assert.That(expected, Has.Count.GreaterThan(3));
        Assert.That(written.Select(Path.GetFileName), Is.EqualTo(expected.Select((_, i) => $"fineweb_{(i == 0 ? "val" : "train")}_{i:D6}.bin")));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.That(TokenShard.Read(written[i]), Is.EqualTo(expected[i]), $"shard {i}");
        }

        Assert.That(written.Skip(1).Select(w => TokenShard.Read(w)[0]), Has.Some.Not.EqualTo(Gpt2Tokenizer.EndOfText),
            "documents cross shard boundaries and continue in the next shard");
        Assert.That(Directory.GetFiles(output), Has.Length.EqualTo(expected.Count));
    }

    [Test]
    public void EncodeOrdinaryTreatsTheSpecialTokenAsText()
    {
        var tok = Gpt2Tokenizer.Instance;
        Assert.That(tok.Encode("x <|endoftext|> y"), Does.Contain(Gpt2Tokenizer.EndOfText));
        Assert.That(tok.EncodeOrdinary("x <|endoftext|> y"), Does.Not.Contain(Gpt2Tokenizer.EndOfText));
        Assert.That(tok.Decode(tok.EncodeOrdinary("x <|endoftext|> y")), Is.EqualTo("x <|endoftext|> y"));
        string text = string.Join("\n", File.ReadLines(TestData.TinyShakespeareText).Take(300));
        Assert.That(tok.EncodeOrdinary(text), Is.EqualTo(tok.Encode(text)), "the same BPE everywhere else");
    }

    [Test]
    public void MaxShardsStopsEarlyAndEduNamesTheShards()
    {
        var docs = Documents();
        var files = new[] { WriteParquet("a.parquet", docs) };
        var written = FineWeb.PrepareAsync(files, Path.Combine(TempDir, "edu"), edu: true, shardTokens: 700, maxShards: 2).GetAwaiter().GetResult();
        Assert.That(written.Select(Path.GetFileName), Is.EqualTo(new[] { "edu_fineweb_val_000000.bin", "edu_fineweb_train_000001.bin" }));
        Assert.That(written.Select(TokenShard.ReadTokenCount), Has.All.EqualTo(700));
    }

    [Test]
    public void TheCommandLineReadsLocalFilesAndDownloadsFromTheHub()
    {
        var docs = Documents();
        WriteParquet("000_00000.parquet", docs.Take(150));
        WriteParquet("001_00000.parquet", docs.Skip(150));
        string local = Path.Combine(TempDir, "local");
        var (code, output, error) = CliRunner.Run("prepare", "fineweb", "--input", Path.Combine(TempDir, "parquet"), "--out", local, "--shard-tokens", "1000");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("fineweb_val_000000.bin (1,000 tokens)").And.Contain("row group"));

        using var server = new LoopbackHubServer();
        server.AddPage("/api/datasets/HuggingFaceFW/fineweb/tree/main/sample/10BT", Encoding.UTF8.GetBytes(
            """[{"type":"file","path":"sample/10BT/001_00000.parquet"},{"type":"directory","path":"sample/10BT/x"},{"type":"file","path":"sample/10BT/000_00000.parquet"}]"""));
        foreach (string f in new[] { "000_00000.parquet", "001_00000.parquet" })
        {
            server.Add("datasets/HuggingFaceFW/fineweb", "sample/10BT/" + f, File.ReadAllBytes(Path.Combine(TempDir, "parquet", f)));
        }

        string hub = Path.Combine(TempDir, "hub");
        string? before = Environment.GetEnvironmentVariable("HF_ENDPOINT");
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", server.Endpoint.AbsoluteUri);
            (code, _, error) = CliRunner.Run("prepare", "fineweb", "--out", hub, "--shard-tokens", "1000");
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", before);
        }

        Assert.That(code, Is.EqualTo(0), error);
        var names = Directory.GetFiles(local, "*.bin").Select(f => Path.GetFileName(f)).Order().ToList();
        Assert.That(Directory.GetFiles(hub, "*.bin").Select(Path.GetFileName).Order(), Is.EqualTo(names));
        foreach (string name in names)
        {
            Assert.That(File.ReadAllBytes(Path.Combine(hub, name)), Is.EqualTo(File.ReadAllBytes(Path.Combine(local, name))), "downloaded in name order, as local");
        }

        Assert.That(File.Exists(Path.Combine(hub, "parquet", "HuggingFaceFW", "fineweb", "sample", "10BT", "000_00000.parquet")), "kept for the next run");
    }

    [Test]
    public void NotParquetIsRefusedNamingTheFile()
    {
        string bad = Path.Combine(TempDir, "bad.parquet");
        File.WriteAllText(bad, "this is not parquet at all, just some text long enough to look like a file");
        var (code, _, error) = CliRunner.Run("prepare", "fineweb", "--input", bad, "--out", Path.Combine(TempDir, "o"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(bad).And.Contain("not a parquet file"));
    }
}
