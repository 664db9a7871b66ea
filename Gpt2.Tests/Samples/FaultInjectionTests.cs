using System.Diagnostics;

namespace Gpt2.Tests.Samples;

/// <summary>
/// The trainer as a separate process, killed with SIGKILL at random moments (mid-step and mid-checkpoint, since it
/// checkpoints every step) and resumed with <c>-y 1</c> each time, ends with the main.log and model file of an
/// uninterrupted run; SIGTERM finishes the step, checkpoints and exits with 75.
/// </summary>
[NonParallelizable]
public sealed class FaultInjectionTests : TempDirectoryTest
{
    private const int Steps = 4500; // about 12 s in one piece here, 2.6 ms a step with its checkpoint: room for 12 kills on a fast day

    private static string _referenceDir = "";
    private static (string Log, byte[] Model) _reference;

    private List<string> Arguments(string output) =>
        [.. TrainFailureTests.TinyRun(TempDir, Steps), "-n", "1", "-nk", "2", "-v", "25", "-o", output];

    private static Process Start(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "gpt2.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    [OneTimeSetUp]
    public void TrainOnceUninterrupted()
    {
        _referenceDir = TestData.NewTempDirectory();
        string output = Path.Combine(_referenceDir, "reference");
        var (code, _, error) = CliRunner.Run([.. TrainFailureTests.TinyRun(_referenceDir, Steps), "-n", "1", "-nk", "2", "-v", "25", "-o", output]);
        Assert.That(code, Is.EqualTo(0), error);
        _reference = (File.ReadAllText(Path.Combine(output, "main.log")), File.ReadAllBytes(Path.Combine(output, $"model_{Steps:D8}.bin")));
    }

    [OneTimeTearDown]
    public void DeleteReference() => TestData.Delete(_referenceDir);

    [Test]
    public void KilledRunsResumeToTheResultOfAnUninterruptedOne()
    {
        var (log, model) = _reference;
        string output = Path.Combine(TempDir, "killed");
        var rng = new Random(2026);
        int kills = 0;
        for (int run = 0; ; run++)
        {
            using var p = Start([.. Arguments(output), "-y", "1"]);
            var errors = new System.Text.StringBuilder();
            p.OutputDataReceived += (_, _) => { }; // drained, so a full pipe never stalls the trainer
            p.ErrorDataReceived += (_, e) => errors.AppendLine(e.Data);
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            // 0.46 s of the delay is the process starting; the rest is training, and checkpointing every step
            if (kills < 12 && !p.WaitForExit(rng.Next(500, 1300)))
            {
                p.Kill(); // SIGKILL: no handler runs
                p.WaitForExit();
                kills++;
                continue;
            }

            Assert.That(p.WaitForExit(120_000), Is.True);
            p.WaitForExit(); // the output is read to its end
            Assert.That(p.ExitCode, Is.EqualTo(0), errors.ToString());
            break;
        }

        TestContext.Out.WriteLine($"{kills} kills");
        Assert.That(kills, Is.GreaterThanOrEqualTo(8), "killed mid-run again and again (the windows are random; the run may finish before the twelfth)");
        Assert.That(File.ReadAllText(Path.Combine(output, "main.log")), Is.EqualTo(log), "the log of an uninterrupted run, line for line");
        Assert.That(File.ReadAllBytes(Path.Combine(output, $"model_{Steps:D8}.bin")), Is.EqualTo(model), "the same parameters, bit for bit");
        Assert.That(Directory.GetFiles(output, ".*.tmp"), Is.Empty, "no orphans left");
    }

    [Test]
    public void SigtermCheckpointsAndExitsSeventyFive()
    {
        var (log, model) = _reference;
        string output = Path.Combine(TempDir, "term");
        using (var p = Start(Arguments(output)))
        {
            while (p.StandardOutput.ReadLine() is { } line && !line.StartsWith("step    20/", StringComparison.Ordinal))
            {
            }

            using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }

            string rest = p.StandardOutput.ReadToEnd();
            Assert.That(p.WaitForExit(60_000), Is.True);
            Assert.That(p.ExitCode, Is.EqualTo(75), rest + p.StandardError.ReadToEnd());
            Assert.That(rest, Does.Contain("interrupted at step").And.Contain("resume with -y 1"));
        }

        var latest = new Gpt2.Training.CheckpointFolder(output).FindLatest();
        Assert.That(latest, Is.Not.Null, "SIGTERM wrote a checkpoint");
        Assert.That(latest!.Step, Is.GreaterThanOrEqualTo(20).And.LessThan(Steps));
        var (code, _, error) = CliRunner.Run([.. Arguments(output), "-y", "1"]);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(File.ReadAllText(Path.Combine(output, "main.log")), Is.EqualTo(log));
        Assert.That(File.ReadAllBytes(Path.Combine(output, $"model_{Steps:D8}.bin")), Is.EqualTo(model));
    }
}
