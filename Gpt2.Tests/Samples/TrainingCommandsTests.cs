using Gpt2.Formats;
using static Gpt2.Tests.Samples.CliRunner;

namespace Gpt2.Tests.Samples;

public sealed class TrainingCommandsTests : TempDirectoryTest
{
    [Test]
    public void PrepareWritesLlmcShardsFromALocalFile()
    {
        string dir = Path.Combine(TempDir, "ts");
        var (code, output, error) = Run("prepare", "tinyshakespeare", "--input", TestData.TinyShakespeareText, "--out", dir);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("32,768 tokens").And.Contain("305,260 tokens"));
        string val = Path.Combine(dir, "tiny_shakespeare_val.bin");
        Assert.That(new FileInfo(val).Length, Is.EqualTo(1024 + 2 * 32768));
        Assert.That(TokenShard.ReadTokenCount(Path.Combine(dir, "tiny_shakespeare_train.bin")), Is.EqualTo(305260));
        Assert.That(Directory.GetFiles(dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "tiny_shakespeare_val.bin", "tiny_shakespeare_train.bin" }));
    }

    [Test]
    public void PrepareTextShardsAnyCorpus()
    {
        string corpus = Path.Combine(TempDir, "corpus"), dir = Path.Combine(TempDir, "shards");
        Directory.CreateDirectory(Path.Combine(corpus, "b"));
        File.WriteAllText(Path.Combine(corpus, "a.txt"), "Hello world");
        File.WriteAllText(Path.Combine(corpus, "b", "c.txt"), string.Join(" ", Enumerable.Repeat("Hello world", 10)));
        var (code, output, error) = Run("prepare", "text", corpus, "--out", dir, "--val-tokens", "4", "--shard-tokens", "9", "--prefix", "t");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("tokenized 2/2 files"));
        // documents: [EOT Hello world] [EOT Hello world ×10 = 20 tokens] → 24 tokens: 4 validation, then 9 + 9 + 2
        Assert.That(TokenShard.Read(Path.Combine(dir, "t_val_000000.bin")), Is.EqualTo(new ushort[] { 50256, 15496, 995, 50256 }));
        Assert.That(Enumerable.Range(0, 3).Select(i => TokenShard.ReadTokenCount(Path.Combine(dir, $"t_train_{i:D6}.bin"))), Is.EqualTo(new long[] { 9, 9, 2 }));
        Assert.That(Run("prepare", "text", Path.Combine(TempDir, "none"), "--out", dir).Code, Is.EqualTo(2));
    }

    [Test]
    public void PrepareTinyStoriesFromALocalArchive()
    {
        string archive = Path.Combine(TempDir, "stories.tar.gz"), dir = Path.Combine(TempDir, "ts");
        using (var file = File.Create(archive))
        using (var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
        using (var tar = new System.Formats.Tar.TarWriter(gzip))
        {
            void Add(string name, string json)
            {
                var entry = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)),
                };
                tar.WriteEntry(entry);
            }

            Add("data01.json", "[{\"story\": \"Hello world\"}, {\"story\": \" Hello \"}, {\"story\": \"world\"}]");
            Add("data00.json", "[{\"story\": \"  Hello world  \"}]");
        }

        var (code, output, error) = Run("prepare", "tinystories", "--archive", archive, "--out", dir);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(TokenShard.Read(Path.Combine(dir, "TinyStories_val.bin")), Is.EqualTo(new ushort[] { 50256, 15496, 995 }), "data00 is validation; stories are stripped");
        var train = TokenShard.Read(Path.Combine(dir, "TinyStories_train.bin"));
        Assert.That(train, Has.Length.EqualTo(7));
        Assert.That(train.Count(t => t == 50256), Is.EqualTo(3));
        Assert.That(train.Where(t => t != 50256), Is.EquivalentTo(new ushort[] { 15496, 995, 15496, 6894 }), "shuffled, same tokens");

        File.WriteAllText(Path.Combine(TempDir, "bad.tar.gz"), "not an archive");
        var bad = Run("prepare", "tinystories", "--archive", Path.Combine(TempDir, "bad.tar.gz"), "--out", dir);
        Assert.That(bad.Code, Is.EqualTo(2));
        Assert.That(bad.Error, Does.Contain("bad.tar.gz"));
    }

    [Test]
    public void PrepareNamesAMissingInput()
    {
        string missing = Path.Combine(TempDir, "nope.txt");
        var (code, _, error) = Run("prepare", "tinyshakespeare", "--input", missing, "--out", TempDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--input").And.Contain(missing));
    }

    [Test]
    public void TrainThenSampleFromTheCheckpoint()
    {
        string dir = Path.Combine(TempDir, "ts"), outDir = Path.Combine(TempDir, "out");
        Assert.That(Run("prepare", "tinyshakespeare", "--input", TestData.TinyShakespeareText, "--out", dir).Code, Is.EqualTo(0));
        var (code, output, error) = Run("train", "-i", Path.Combine(dir, "tiny_shakespeare_train.bin"), "-j", Path.Combine(dir, "tiny_shakespeare_val.bin"),
            "-e", "L1H2C16", "-b", "2", "-t", "16", "-x", "4", "-v", "2", "-m", "2", "-s", "0", "-g", "8", "-n", "2", "-o", outDir, "-l", "0.003");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("step     4/4").And.Contain("val loss").And.Contain("sample at step 4"));
        var summary = System.Text.RegularExpressions.Regex.Match(output,
            @"summary: steps 4 run, 4 in all; tokens 128; train loss (\d+\.\d{4}) final, (\d+\.\d{4}) best \(step \d\); val loss (\d+\.\d{4}) final, (\d+\.\d{4}) best \(step \d\); time 0:\d\d:\d\d, median [\d,]+ tokens/s; checkpoint (.+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.That(summary.Success, Is.True, "the summary line: " + output);
        Assert.That(double.Parse(summary.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
            Is.LessThanOrEqualTo(double.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)), "best ≤ final");
        Assert.That(summary.Groups[5].Value.Trim(), Is.EqualTo(Path.Combine(outDir, "model_00000004.bin")));
        Assert.That(File.ReadAllLines(Path.Combine(outDir, "main.log")), Has.Some.StartsWith("s:0 tel:").And.Some.StartsWith("s:3 trl:"));
        var svg = System.Xml.Linq.XDocument.Load(Path.Combine(outDir, "loss.svg"));
        Assert.That(svg.Root!.Name.LocalName, Is.EqualTo("svg"), "the loss curve is an SVG (well-formed XML)");
        Assert.That(svg.Descendants().Where(e => e.Name.LocalName == "polyline").ToList(), Has.Count.EqualTo(2), "train and validation curves");
        Assert.That(svg.Descendants().First(e => e.Name.LocalName == "polyline").Attribute("points")!.Value.Split(' '), Has.Length.EqualTo(4), "one point per step");
        string model = Path.Combine(outDir, "model_00000004.bin");
        Assert.That(File.Exists(model) && File.Exists(Path.Combine(outDir, "state_00000002.bin")));

        var first = Run("sample", "-e", model, "-p", "ROMEO:", "-g", "12", "--seed", "5");
        var second = Run("sample", "-e", model, "-p", "ROMEO:", "-g", "12", "--seed", "5");
        Assert.That(first.Code, Is.EqualTo(0), first.Error);
        Assert.That(first.Output, Does.StartWith("ROMEO:").And.Length.GreaterThan("ROMEO:".Length));
        Assert.That(second.Output, Is.EqualTo(first.Output), "same seed, same text");

        // six steps instead of four changes the cosine schedule: refused unless allowed deliberately
        string[] resume = ["train", "-i", Path.Combine(dir, "tiny_shakespeare_train.bin"), "-j", Path.Combine(dir, "tiny_shakespeare_val.bin"),
            "-e", "L1H2C16", "-b", "2", "-t", "16", "-x", "6", "-v", "0", "-s", "0", "-o", outDir, "-y", "1", "-l", "0.003"];
        var refused = Run(resume);
        Assert.That(refused.Code, Is.EqualTo(2));
        Assert.That(refused.Error, Does.Contain("schedule: checkpoint Cosine lr 0.003 warmup 4 over 4 steps").And.Contain("now Cosine lr 0.003 warmup 6 over 6 steps")
            .And.Contain("--allow-resume-changes"));
        var resumed = Run([.. resume, "--allow-resume-changes"]);
        Assert.That(resumed.Code, Is.EqualTo(0), resumed.Error);
        Assert.That(resumed.Output, Does.Contain("resumed from").And.Contain("model_00000004.bin").And.Contain("step     5/6"));
    }

    [TestCase("-b", "0", "--batch")]
    [TestCase("-k", "sawtooth", "sawtooth")]
    [TestCase("-d", "100", "--total-batch")]
    [TestCase("-l", "-1", "--lr")]
    [TestCase("-y", "1", "--resume")]
    [TestCase("-e", "d13", "--model")]
    [TestCase("-i", "missing_*.bin", "missing_")]
    [TestCase("--collectives", "pigeons", "--collectives")]
    public void TrainRejectsNonsenseWithExitCode2(string flag, string value, string named)
    {
        string outDir = Path.Combine(TempDir, "never");
        var args = new List<string> { "train", flag, value };
        if (flag != "-y")
        {
            args.AddRange(["-o", outDir]);
        }

        var (code, _, error) = Run([.. args]);
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain(named));
        Assert.That(Directory.Exists(outDir), Is.False, "nothing is written on bad input");
    }

    [Test]
    public void NcclCollectivesOnTheCpuBackendAreRefusedBeforeTraining()
    {
        string shard = Path.Combine(TempDir, "tokens.bin"), outDir = Path.Combine(TempDir, "never");
        TokenShard.Write(shard, Enumerable.Range(0, 200).Select(i => (ushort)(i * 7)).ToArray());

        var (code, _, error) = Run("train", "-i", shard, "-j", shard, "-e", "L1H2C16", "-b", "1", "-t", "8", "-x", "2", "-o", outDir,
            "--collectives", "nccl");

        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("--collectives nccl").And.Contain("CUDA"));
        Assert.That(Directory.Exists(outDir), Is.False, "nothing is written on bad input");
    }

    [TestCase("--temperature", "-1")]
    [TestCase("--top-p", "0")]
    [TestCase("--tokens", "0")]
    public void SampleRejectsNonsense(string flag, string value)
    {
        var (code, _, error) = Run("sample", "-e", TestData.Fixture("tiny", "model.bin"), flag, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(flag));
    }
}
