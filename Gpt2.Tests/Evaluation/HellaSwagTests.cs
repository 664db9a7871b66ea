using System.Buffers.Binary;
using System.Text.Json;
using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Evaluation;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Tests.Samples;
using Gpt2.Text;

namespace Gpt2.Tests.Evaluation;

/// <summary>
/// HellaSwag: the eval file against its specification field by field, and the scores of a tiny "hot" model against
/// tools/reference/hellaswag_reference.py (float64 PyTorch) on eight examples.
/// </summary>
public sealed class HellaSwagTests : TempDirectoryTest
{
    private static string Fixture(string file) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "hellaswag", file);

    [Test]
    public void TheEvalFileIsWriteEvalfilesFieldByField()
    {
        string path = Path.Combine(TempDir, "hs.bin");
        HellaSwagFile.Write(path, HellaSwagFile.ReadJsonl(Fixture("hellaswag_tiny.jsonl")));
        byte[] bytes = File.ReadAllBytes(path);
        int H(int i) => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
        Assert.That((H(0), H(1), H(2)), Is.EqualTo((20240522, 1, 8)));
        Assert.That(bytes.AsSpan(16, 1024 - 16).ToArray(), Has.All.Zero, "the rest of the header is zero");

        var lines = File.ReadAllLines(Fixture("hellaswag_tiny.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        int at = 1024, longest = 0;
        ushort U() { ushort v = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at)); at += 2; return v; }
        for (int i = 0; i < 8; i++)
        {
            int start = at;
            Assert.That(U(), Is.EqualTo(65535), "delimiter");
            int exampleBytes = U();
            Assert.That((U(), U(), U()), Is.EqualTo(((ushort)i, (ushort)lines[i].GetProperty("label").GetInt32(), (ushort)4)), "index, label, 4 endings");
            var ctx = Gpt2Tokenizer.Instance.Encode(lines[i].GetProperty("ctx").GetString()!);
            Assert.That(U(), Is.EqualTo(ctx.Count));
            Assert.That(Enumerable.Range(0, ctx.Count).Select(_ => (int)U()), Is.EqualTo(ctx), "context tokens");
            foreach (var ending in lines[i].GetProperty("endings").EnumerateArray())
            {
                var tokens = Gpt2Tokenizer.Instance.Encode(" " + ending.GetString()); // with the leading space
                Assert.That(U(), Is.EqualTo(tokens.Count));
                Assert.That(Enumerable.Range(0, tokens.Count).Select(_ => (int)U()), Is.EqualTo(tokens));
            }

            Assert.That(exampleBytes, Is.EqualTo(at - start));
            longest = Math.Max(longest, exampleBytes);
        }

        Assert.That(at, Is.EqualTo(bytes.Length));
        Assert.That(H(3), Is.EqualTo(longest), "longest example in bytes");
        Assert.That(HellaSwagFile.Read(path).Select(e => e.Context.Count), Is.EqualTo(HellaSwagFile.ReadJsonl(Fixture("hellaswag_tiny.jsonl")).Select(e => e.Context.Count)));
    }

    [Test]
    public void MalformedEvalFilesAreRefusedNamingTheExample()
    {
        byte[] good = File.ReadAllBytes(Fixture("hellaswag_tiny.bin"));
        string truncated = Path.Combine(TempDir, "t.bin"), shifted = Path.Combine(TempDir, "s.bin");
        File.WriteAllBytes(truncated, good[..(good.Length - 10)]);
        var bad = (byte[])good.Clone();
        bad[1024 + 4] ^= 1; // the first example's index
        File.WriteAllBytes(shifted, bad);
        Assert.That(Assert.Throws<FileFormatException>(() => HellaSwagFile.Read(truncated))!.Message, Does.Contain("example 7: the file ends inside it"));
        Assert.That(Assert.Throws<FileFormatException>(() => HellaSwagFile.Read(shifted))!.Message, Does.Contain("example 0: inconsistent fields"));
        string jsonl = Path.Combine(TempDir, "bad.jsonl");
        File.WriteAllText(jsonl, "{\"ctx\": \"a\", \"label\": 1, \"endings\": [\"b\"]}\n");
        Assert.That(Assert.Throws<FileFormatException>(() => HellaSwagFile.ReadJsonl(jsonl))!.Message, Does.Contain("line 1 is not a HellaSwag example"));
    }

    private static IEnumerable<TestCaseData> Backends()
    {
        yield return new TestCaseData((Func<ComputeBackend>)(() => new CpuBackend()), 8, 3).SetArgDisplayNames("cpu, all 8, 3 examples per batch");
        // ILGPU's CPU accelerator runs the kernels one thread at a time: the shortest example only (a 4 x 16 batch)
        yield return new TestCaseData((Func<ComputeBackend>)(() => new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu })), 1, 1)
            .SetArgDisplayNames("ilgpu cpu accelerator, 1 example");
    }

    [TestCaseSource(nameof(Backends))]
    public void ScoresMatchTheFloat64Reference(Func<ComputeBackend> create, int examples, int perBatch)
    {
        using var backend = create();
        using var model = Gpt2Model.Load(Fixture("model.bin"), backend);
        var all = HellaSwagFile.Read(Fixture("hellaswag_tiny.bin"));
        var chosen = examples == all.Count ? all : all.OrderBy(e => e.LongestRow).Take(examples).ToList();
        var result = HellaSwagEvaluator.Evaluate(model, chosen, examplesPerBatch: perBatch);
        using var expected = JsonDocument.Parse(File.ReadAllText(Fixture("expected.json")));
        var want = expected.RootElement.GetProperty("predictions").EnumerateArray().Where(p => chosen.Any(e => e.Index == p.GetProperty("index").GetInt32())).ToList();
        Assert.That(result.Examples, Is.EqualTo(want.Count));
        for (int i = 0; i < want.Count; i++)
        {
            var p = result.Predictions[i];
            // fp32 against float64 over about 20 tokens of a hot model: 1e-4 relative holds with room to spare
            Assert.That(p.SumLosses.Zip(want[i].GetProperty("sum_losses").EnumerateArray().Select(x => x.GetDouble())), Has.All.Matches<(double A, double B)>(t => Math.Abs(t.A - t.B) <= 1e-4 * Math.Abs(t.B)));
            Assert.That(p.MeanLosses.Zip(want[i].GetProperty("mean_losses").EnumerateArray().Select(x => x.GetDouble())), Has.All.Matches<(double A, double B)>(t => Math.Abs(t.A - t.B) <= 1e-4 * Math.Abs(t.B)));
            Assert.That((p.Index, p.Label, p.Prediction, p.NormalizedPrediction), Is.EqualTo((want[i].GetProperty("index").GetInt32(), want[i].GetProperty("label").GetInt32(),
                want[i].GetProperty("pred").GetInt32(), want[i].GetProperty("pred_norm").GetInt32())));
        }

        if (examples == all.Count)
        {
            Assert.That(result.NormalizedAccuracy, Is.EqualTo(expected.RootElement.GetProperty("acc_norm").GetDouble()));
        }
    }

    [Test]
    public void RanksScoreDisjointSharesThatMakeTheWhole()
    {
        using var backend = new CpuBackend();
        using var model = Gpt2Model.Load(Fixture("model.bin"), backend);
        var examples = HellaSwagFile.Read(Fixture("hellaswag_tiny.bin"));
        var whole = HellaSwagEvaluator.Evaluate(model, examples);
        var shares = Enumerable.Range(0, 3).Select(r => HellaSwagEvaluator.Evaluate(model, examples, rank: r, worldSize: 3)).ToList();
        Assert.That(shares.Sum(s => s.Examples), Is.EqualTo(8));
        Assert.That(shares.SelectMany(s => s.Predictions).OrderBy(p => p.Index).Select(p => (p.Index, p.NormalizedPrediction)),
            Is.EqualTo(whole.Predictions.Select(p => (p.Index, p.NormalizedPrediction))));
    }

    [Test]
    public void TheCommandLineScoresAndWritesJson()
    {
        string json = Path.Combine(TempDir, "out.json");
        var (code, output, error) = CliRunner.Run("eval", "hellaswag", "-e", Fixture("model.bin"), "--input", Fixture("hellaswag_tiny.jsonl"), "--json", json, "--limit", "5");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("5 examples: acc "));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.That(doc.RootElement.GetProperty("examples").GetInt32(), Is.EqualTo(5));
        var first = doc.RootElement.GetProperty("predictions")[0];
        Assert.That(first.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "index", "label", "pred", "pred_norm", "sum_losses", "mean_losses" }));

        var prepared = CliRunner.Run("prepare", "hellaswag", "--input", Fixture("hellaswag_tiny.jsonl"), "--out", TempDir);
        Assert.That(prepared.Code, Is.EqualTo(0), prepared.Error);
        Assert.That(File.ReadAllBytes(Path.Combine(TempDir, "hellaswag_val.bin")), Is.EqualTo(File.ReadAllBytes(Fixture("hellaswag_tiny.bin"))));

        var missing = CliRunner.Run("eval", "hellaswag", "-e", Fixture("model.bin"), "--input", Path.Combine(TempDir, "none.bin"));
        Assert.That(missing.Code, Is.EqualTo(2));
        Assert.That(missing.Error, Does.Contain("gpt2 prepare hellaswag"));

        TrainFailureTests.TinyRun(TempDir);
        var small = CliRunner.Run("eval", "hellaswag", "-e", Path.Combine(TempDir, "model.bin"), "--input", Fixture("hellaswag_tiny.bin"));
        Assert.That(small.Code, Is.EqualTo(2));
        Assert.That(small.Error, Does.Contain("--model: HellaSwag example 0 is 20 tokens, longer than the model's context of 8"));
    }

    [Test]
    public void TrainingEvaluatesHellaSwagAtEveryValidationStep()
    {
        string dir = Path.Combine(TempDir, "ts"), output = Path.Combine(TempDir, "out");
        Assert.That(CliRunner.Run("prepare", "tinyshakespeare", "--input", TestData.TinyShakespeareText, "--out", dir).Code, Is.EqualTo(0));
        var (code, stdout, error) = CliRunner.Run("train", "-e", Fixture("model.bin"), "-i", Path.Combine(dir, "tiny_shakespeare_train.bin"),
            "-j", Path.Combine(dir, "tiny_shakespeare_val.bin"), "-b", "2", "-t", "16", "-x", "4", "-v", "2", "-m", "1", "-s", "0", "-g", "0",
            "-h", "1", "--hellaswag-file", Fixture("hellaswag_tiny.jsonl"), "-o", output);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(stdout, Does.Contain("HellaSwag acc_norm 0.1250 (8 examples) at step 0"), "the untrained model scores as the reference");
        var evals = File.ReadAllLines(Path.Combine(output, "main.log")).Where(l => l.Contains(" eval:", StringComparison.Ordinal)).ToList();
        Assert.That(evals.Select(l => l[..l.IndexOf(' ', StringComparison.Ordinal)]), Is.EqualTo(new[] { "s:0", "s:2", "s:4" }), "llm.c's s:STEP eval:ACC lines");
        Assert.That(evals[0], Is.EqualTo("s:0 eval:0.1250"));

        var help = CliRunner.Run("train", "--help");
        Assert.That(help.Output, Does.Contain("-h, --hellaswag"), "-h is llm.c's flag; help is --help");
    }
}
