using System.Diagnostics;
using Gpt2.Backends.Cpu;
using Gpt2.Formats;
using Gpt2.Model;

namespace Gpt2.Tests.Samples;

/// <summary>
/// <c>gpt2 train</c> on bad input and bad numbers: a message naming the flag or file and exit code 2 before
/// anything is written, exit code 4 for a run that diverged, the folder lock, and the exit codes in --help.
/// </summary>
[NonParallelizable] // the FIFO test starts a process
public sealed class TrainFailureTests : TempDirectoryTest
{
    internal static readonly Gpt2Config Tiny = new(maxSequenceLength: 8, vocabularySize: 64, paddedVocabularySize: 80, layerCount: 1, headCount: 2, channelCount: 8);

    /// <summary>A tiny model file and random-token shards in <paramref name="dir"/>; returns the train arguments for them.</summary>
    internal static List<string> TinyRun(string dir, int steps = 3, Action<ushort[]>? editTrain = null, Action<ushort[]>? editVal = null, Action<float[]>? editModel = null)
    {
        var rng = new Random(4);
        ushort[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(Tiny.VocabularySize)).ToArray();
        var train = Tokens(3000);
        var val = Tokens(400);
        editTrain?.Invoke(train);
        editVal?.Invoke(val);
        TokenShard.Write(Path.Combine(dir, "train.bin"), train);
        TokenShard.Write(Path.Combine(dir, "val.bin"), val);
        var layout = new ParameterLayout(Tiny);
        var p = new float[layout.Count];
        ParameterInitializer.Initialize(layout, 42, p);
        editModel?.Invoke(p);
        ModelFile.Write(Path.Combine(dir, "model.bin"), Tiny, ModelFileFormat.Float32, p);
        return ["train", "-e", Path.Combine(dir, "model.bin"), "-i", Path.Combine(dir, "train.bin"), "-j", Path.Combine(dir, "val.bin"),
            "-b", "2", "-t", "8", "-x", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "-g", "0", "-s", "0", "-m", "2", "-l", "0.01"];
    }

    private string Out => Path.Combine(TempDir, "out");

    [TestCase("-o", "", "--output: empty path")]
    [TestCase("-o", "FILE", "is a file")]
    [TestCase("-b", "4194304", "--batch, --seq: B·T = 4294967296")]
    [TestCase("-u", "50", "--warmup: 50 warmup steps is more than the 3 steps")]
    [TestCase("-i", "WILDDIR", "--train: Wildcards are only supported in the file name")]
    [TestCase("-sl", "-1", "--skip-loss-z")]
    [TestCase("-nk", "-2", "--keep-checkpoints")]
    public void NonsenseFlagsExitTwoNamingTheFlag(string flag, string value, string message)
    {
        var args = TinyRun(TempDir);
        string file = Path.Combine(TempDir, "train.bin");
        value = value switch { "FILE" => file, "WILDDIR" => Path.Combine(TempDir + "*", "train.bin"), _ => value };
        if (flag != "-o")
        {
            args.AddRange(["-o", Out]);
        }

        if (flag == "-b")
        {
            args[args.IndexOf("-t") + 1] = "1024"; // with B = 4194304, B·T overflows int
        }

        int at = args.IndexOf(flag);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([flag, value]);
        }

        var (code, output, error) = CliRunner.Run([.. args]);
        Assert.That(code, Is.EqualTo(2), output + error);
        Assert.That(error, Does.Contain(message));
        Assert.That(Directory.Exists(Out), Is.False, "nothing written");
    }

    [Test]
    public void ABadTokenInTheTrainingShardLeavesTheOldLogAlone()
    {
        var args = TinyRun(TempDir, editTrain: t => t[^1] = 64);
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "main.log"), "s:0 trl:1.0000\n");
        var (code, output, error) = CliRunner.Run([.. args, "-o", Out]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("train.bin").And.Contain("token 2999 is 64, outside the model's vocabulary of 64"));
        Assert.That(output, Does.Not.Contain("step "), "before the first step");
        Assert.That(File.ReadAllText(Path.Combine(Out, "main.log")), Is.EqualTo("s:0 trl:1.0000\n"));
    }

    [Test]
    public void ABadValidationShardIsFoundBeforeTrainingEvenWhenOnlyUsedAtTheEnd()
    {
        var args = TinyRun(TempDir, steps: 50, editVal: t => t[10] = 1000);
        var (code, output, error) = CliRunner.Run([.. args, "-v", "0", "-o", Out]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("val.bin").And.Contain("token 10 is 1000"));
        Assert.That(output, Does.Not.Contain("step "));
    }

    [Test]
    public void ARunWhoseLossIsNotFiniteExitsFourAndWritesNoCheckpoint()
    {
        // a final LayerNorm gain of 1e20: the logits are finite but their gradients overflow
        var layout = new ParameterLayout(Tiny);
        var args = TinyRun(TempDir, editModel: p => p.AsSpan((int)layout.LnfWeight.Offset, Tiny.ChannelCount).Fill(1e20f));
        var (code, output, error) = CliRunner.Run([.. args, "-o", Out, "-n", "1"]);
        Assert.That(code, Is.EqualTo(4), output + error);
        Assert.That(output, Does.Contain("Training diverged at step 0: gradient norm +inf (every gradient and parameter is finite")
            .And.Contain("No checkpoint was written"));
        Assert.That(Directory.GetFiles(Out, "*.bin"), Is.Empty);
    }

    [Test]
    public void AModelFileWithNaNIsRefused()
    {
        var args = TinyRun(TempDir, editModel: p => p[^3] = float.NaN);
        var (code, _, error) = CliRunner.Run([.. args, "-o", Out]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("lnfb holds NaN at element 5"));
    }

    [Test]
    public void ASecondRunIntoALockedFolderExitsTwoNamingTheHolder()
    {
        var args = TinyRun(TempDir);
        using (Gpt2.Training.OutputFolderLock.Acquire(Out))
        {
            var (code, _, error) = CliRunner.Run([.. args, "-o", Out]);
            Assert.That(code, Is.EqualTo(2));
            Assert.That(error, Does.Contain("is in use by another training run (pid " + Environment.ProcessId));
        }

        Assert.That(CliRunner.Run([.. args, "-o", Out]).Code, Is.EqualTo(0), "free again once the holder is gone");
    }

    [Test]
    public void AFreshRunIntoAnEarlierRunsFolderIsRefusedUnlessOverwriting()
    {
        var args = TinyRun(TempDir, steps: 4);
        Assert.That(CliRunner.Run([.. args, "-o", Out, "-n", "1", "-nk", "2", "-nm", "2"]).Code, Is.EqualTo(0));
        Assert.That(new Gpt2.Training.CheckpointFolder(Out).FindAll().Select(c => c.Step), Is.EqualTo(new[] { 2, 3, 4 }), "-nk 2 -nm 2");
        var (code, _, error) = CliRunner.Run([.. args, "-o", Out]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("holds checkpoints of an earlier run (up to step 4)").And.Contain("--overwrite"));
        var overwrite = CliRunner.Run([.. args, "-o", Out, "--overwrite"]);
        Assert.That(overwrite.Code, Is.EqualTo(0), overwrite.Error);
        Assert.That(new Gpt2.Training.CheckpointFolder(Out).FindAll().Select(c => c.Step), Is.EqualTo(new[] { 4 }), "only the new run's final checkpoint");
    }

    [Test]
    public void SampleRefusesAModelWithoutEndOfText()
    {
        TinyRun(TempDir);
        var (code, _, error) = CliRunner.Run("sample", "-e", Path.Combine(TempDir, "model.bin"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--model").And.Contain("vocabulary of 64 tokens, without GPT-2's <|endoftext|>"));
    }

    [Test]
    public void AFifoAsModelIsRefusedAtOnce()
    {
        string fifo = Path.Combine(TempDir, "model.fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
        }

        var args = TinyRun(TempDir);
        args[args.IndexOf("-e") + 1] = fifo;
        var run = Task.Run(() => CliRunner.Run([.. args, "-o", Out]));
        Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "no hang waiting for a writer");
        Assert.That(run.Result.Code, Is.EqualTo(2));
        Assert.That(run.Result.Error, Does.Contain("not a regular file, such as a FIFO"));
    }

    [Test]
    public void HelpListsTheExitCodes()
    {
        var (_, output, _) = CliRunner.Run("train", "--help");
        Assert.That(output, Does.Contain("4 training diverged").And.Contain("75 interrupted"));
    }

    [Test]
    public void PrepareTextRefusesBinaryData()
    {
        string garbage = Path.Combine(TempDir, "garbage.txt"), nuls = Path.Combine(TempDir, "nuls.txt");
        File.WriteAllBytes(garbage, [.. "plain start "u8, 0xC3, 0x28, .. " and more"u8]);
        File.WriteAllBytes(nuls, [.. Enumerable.Repeat((byte)0, 50), .. "text"u8]);
        var (code, _, error) = CliRunner.Run("prepare", "text", garbage, "--out", Path.Combine(TempDir, "shards"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(garbage).And.Contain("not UTF-8 text: invalid byte 0xC3 at offset 12"));
        (code, _, error) = CliRunner.Run("prepare", "text", nuls, "--out", Path.Combine(TempDir, "shards"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("looks like binary data, not text: 50 of its 54 characters are NUL"));
        Assert.That(Directory.Exists(Path.Combine(TempDir, "shards")), Is.False);
    }
}
