using System.Diagnostics;

namespace Gpt2.Tests.Distributed;

/// <summary>
/// <c>mpirun -np N dotnet gpt2.dll ...</c> as CI runs it (as root, more ranks than cores), with its output collected
/// line by line so a test can wait for a line. Without Open MPI the calling test is skipped, unless
/// <c>GPT2_REQUIRE_MPI=1</c> (set by CI) makes it fail.
/// </summary>
internal sealed class MpiRun : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private MpiRun(Process process) => _process = process;

    public static string MpirunPath
    {
        get
        {
            if (TestData.FindOnPath("mpirun") is { } mpirun)
            {
                return mpirun;
            }

            if (Environment.GetEnvironmentVariable("GPT2_REQUIRE_MPI") == "1")
            {
                Assert.Fail("mpirun not found, and GPT2_REQUIRE_MPI=1 (apt-get install openmpi-bin libopenmpi-dev)");
            }

            Assert.Ignore("mpirun not found (apt-get install openmpi-bin libopenmpi-dev)");
            return "";
        }
    }

    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    public static MpiRun Start(int processes, params string[] gpt2Arguments)
    {
        string gpt2 = Path.Combine(TestContext.CurrentContext.TestDirectory, "gpt2.dll");
        var psi = new ProcessStartInfo(MpirunPath)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", processes.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", gpt2 })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string a in gpt2Arguments)
        {
            psi.ArgumentList.Add(a);
        }

        var run = new MpiRun(new Process { StartInfo = psi });
        run._process.OutputDataReceived += (_, e) => run.Add(e.Data);
        run._process.ErrorDataReceived += (_, e) => run.Add(e.Data);
        run._process.Start();
        run._process.BeginOutputReadLine();
        run._process.BeginErrorReadLine();
        return run;
    }

    /// <summary>Runs to the end and fails the test, showing the output, unless it exits with 0.</summary>
    public static string Check(int processes, params string[] gpt2Arguments)
    {
        using var run = Start(processes, gpt2Arguments);
        Assert.That(run.WaitForExit(TimeSpan.FromMinutes(5)), Is.True, "mpirun finished");
        Assert.That(run.ExitCode, Is.Zero, run.Output);
        return run.Output;
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit(); // drains the output
        return true;
    }

    /// <summary>Waits until a line matches and returns it.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            lock (_lines)
            {
                if (_lines.FirstOrDefault(match) is { } line)
                {
                    return line;
                }
            }

            if (_process.HasExited)
            {
                break;
            }

            Thread.Sleep(50);
        }

        Assert.Fail($"no such line after {clock.Elapsed.TotalSeconds:F0} s:\n{Output}");
        return "";
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }
}
