using System.Globalization;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Samples;
using Gpt2.Text;
using Gpt2.Training;

namespace Gpt2.Tests.Distributed;

/// <summary>
/// <c>mpirun -np 2 gpt2 train</c> against one process: the same data order (each rank reads its half of every
/// global batch, as llm.c), so the losses and final parameters must agree to fp32 rounding; ZeRO stage 1 must agree
/// with plain data parallel; resuming under MPI continues the run; a dead or hung rank ends the job.
/// </summary>
[NonParallelizable]
public sealed class DataParallelTrainingTests : TempDirectoryTest
{

    [Test]
    public void TwoRanksOfBatchTwoTrainLikeOneRankOfBatchFourAndZeroOneLikeBoth()
    {
        _ = MpiRun.MpirunPath;
        WriteShards();
        string single = Path.Combine(TempDir, "single"), plain = Path.Combine(TempDir, "plain"), zero = Path.Combine(TempDir, "zero");
        using (var output = new StringWriter())
        {
            int code = Program.Run(Train(single, batch: 4), output, output);
            Assert.That(code, Is.Zero, output.ToString());
        }

        string plainOutput = MpiRun.Check(2, Train(plain, batch: 2));
        MpiRun.Check(2, [.. Train(zero, batch: 2), "-z", "1"]);
        Assert.That(plainOutput, Does.Contain("process 0/2").And.Contain("process 1/2").And.Contain("2 processes"));

        var expected = Losses(single);
        Assert.That(expected, Has.Count.EqualTo(6 + 3), "6 training losses and 3 validation losses");
        foreach (string run in new[] { plain, zero })
        {
            var losses = Losses(run);
            Assert.That(losses.Keys, Is.EqualTo(expected.Keys));
            foreach (var (key, loss) in expected)
            {
                Assert.That(losses[key], Is.EqualTo(loss).Within(2e-4), $"{Path.GetFileName(run)} {key}");
            }
        }

        var reference = ModelFile.Read(Path.Combine(single, "model_00000006.bin")).Parameters;
        var referenceState = ReadState(single, reference.Length);
        foreach (string run in new[] { plain, zero })
        {
            var parameters = ModelFile.Read(Path.Combine(run, "model_00000006.bin")).Parameters;
            Assert.That(MaxDifference(parameters, reference), Is.LessThan(1e-5f), $"{Path.GetFileName(run)} final parameters");
            var state = ReadState(run, reference.Length);
            Assert.That(MaxDifference(state.FirstMoment, referenceState.FirstMoment), Is.LessThan(1e-6f), $"{Path.GetFileName(run)} m (gathered from the shards)");
            Assert.That(MaxDifference(state.SecondMoment, referenceState.SecondMoment), Is.LessThan(1e-8f), $"{Path.GetFileName(run)} v");
            Assert.That(state.TrainPosition, Is.EqualTo(referenceState.TrainPosition));
        }

        // resume under MPI with ZeRO from the step-3 checkpoint: the same end as the uninterrupted run
        File.Delete(Path.Combine(zero, "model_00000006.bin"));
        File.Delete(Path.Combine(zero, "state_00000006.bin"));
        var before = File.ReadAllText(Path.Combine(zero, "main.log"));
        string resumed = MpiRun.Check(2, [.. Train(zero, batch: 2), "-z", "1", "-y", "1"]);
        Assert.That(resumed, Does.Contain("resumed from").And.Contain("at step 3"));
        var final = ModelFile.Read(Path.Combine(zero, "model_00000006.bin")).Parameters;
        Assert.That(MaxDifference(final, reference), Is.LessThan(1e-5f), "resumed final parameters");
        Assert.That(File.ReadAllText(Path.Combine(zero, "main.log")), Does.StartWith(before), "rank 0 appends to its log");
    }

    [Test]
    public void ADeadRankEndsTheJobWithAnError()
    {
        _ = MpiRun.MpirunPath;
        WriteShards();
        using var run = MpiRun.Start(2, [.. Train(Path.Combine(TempDir, "out"), batch: 2, steps: 100000)]);
        int pid = RankPid(run, 1);
        run.WaitForLine(l => l.Contains("step     2/", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        using (var victim = System.Diagnostics.Process.GetProcessById(pid))
        {
            victim.Kill();
        }

        Assert.That(run.WaitForExit(TimeSpan.FromSeconds(90)), Is.True, "the job ends instead of hanging:\n" + run.Output);
        Assert.That(run.ExitCode, Is.Not.Zero);
        Assert.That(run.Output, Does.Contain("rank 1").And.Contain("signal 9").IgnoreCase, run.Output);
    }

    [Test]
    public void AHungRankMakesTheOthersAbortAfterTheTimeout()
    {
        _ = MpiRun.MpirunPath;
        WriteShards();
        using var run = MpiRun.Start(2, [.. Train(Path.Combine(TempDir, "out"), batch: 2, steps: 100000), "--mpi-timeout", "20"]); // above any start-up skew of a loaded machine
        int pid = RankPid(run, 1);
        run.WaitForLine(l => l.Contains("step     2/", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        using var stop = System.Diagnostics.Process.Start("kill", ["-STOP", pid.ToString(CultureInfo.InvariantCulture)]);
        stop.WaitForExit();
        try
        {
            Assert.That(run.WaitForExit(TimeSpan.FromSeconds(90)), Is.True, "the watchdog ends the job:\n" + run.Output);
            Assert.That(run.ExitCode, Is.Not.Zero);
            Assert.That(run.Output, Does.Contain("gpt2: rank 0/2: MPI_").And.Contain("a rank has died or hangs"), run.Output);
        }
        finally
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
    }

    [Test]
    public void SigtermToOneRankStopsEveryRankAtOneStepWithOneCheckpoint()
    {
        _ = MpiRun.MpirunPath;
        WriteShards();
        string output = Path.Combine(TempDir, "out");
        using var run = MpiRun.Start(2, [.. Train(output, batch: 2, steps: 100000)]);
        int pid = RankPid(run, 1);
        run.WaitForLine(l => l.Contains("step     2/", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]))
        {
            term.WaitForExit();
        }

        Assert.That(run.WaitForExit(TimeSpan.FromSeconds(90)), Is.True, run.Output);
        Assert.That(run.ExitCode, Is.EqualTo(75), run.Output);
        string line = run.WaitForLine(l => l.Contains("interrupted at step", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        int step = int.Parse(line[(line.IndexOf("interrupted at step ", StringComparison.Ordinal) + 20)..].Split(';')[0], CultureInfo.InvariantCulture);
        Assert.That(new CheckpointFolder(output).FindLatest()?.Step, Is.EqualTo(step), "rank 0 checkpointed the step every rank stopped at");
    }

    private static int RankPid(MpiRun run, int rank)
    {
        // each rank's stdout is a terminal under mpirun, so a line may begin with the terminal's setup sequence
        string line = run.WaitForLine(l => l.Contains($"process {rank}/", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        var words = line[line.IndexOf("process", StringComparison.Ordinal)..].Split(' ');
        return int.Parse(words[3], CultureInfo.InvariantCulture);
    }

    private string[] Train(string output, int batch, int steps = 6) =>
    [
        "train", "-i", Path.Combine(TempDir, "ts_train.bin"), "-j", Path.Combine(TempDir, "ts_val.bin"), "-e", "L1H2C16",
        "-b", batch.ToString(CultureInfo.InvariantCulture), "-t", "32", "-x", steps.ToString(CultureInfo.InvariantCulture),
        "-l", "3e-3", "-u", "2", "-c", "0.1", "-v", "3", "-m", "2", "-s", "0", "-g", "0", "-n", "3", "-o", output, "--threads", "1", "--seed", "5",
    ];

    private static Dictionary<string, double> Losses(string directory) =>
        File.ReadAllLines(Path.Combine(directory, "main.log"))
            .Select(l => l.Split(' '))
            .ToDictionary(f => f[0] + " " + f[1].Split(':')[0], f => double.Parse(f[1].Split(':')[1], CultureInfo.InvariantCulture));

    private static Gpt2.Training.TrainingState ReadState(string directory, int count) =>
        Gpt2.Training.TrainingState.Read(Path.Combine(directory, "state_00000006.bin"), count);

    private static float MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    private void WriteShards()
    {
        TokenShard.Write(Path.Combine(TempDir, "ts_val.bin"), TestData.TinyShakespeareTokens.Val);
        TokenShard.Write(Path.Combine(TempDir, "ts_train.bin"), TestData.TinyShakespeareTokens.Train);
    }
}
