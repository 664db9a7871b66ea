using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Bench;

/// <summary>
/// <c>mpirun -np N gpt2 bench-allreduce</c>: the time and bandwidth of the gradient all-reduce (in place, sum of
/// floats) between the job's processes; by default the size of GPT-2 124M's gradients.
/// </summary>
internal static class AllReduceBenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var floats = new Option<int>("--floats") { Description = "Floats per all-reduce (default: GPT-2 124M's 124,475,904 parameters).", DefaultValueFactory = _ => 124_475_904 };
        var iterations = new Option<int>("--iterations") { Description = "Timed all-reduces.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed all-reduces first.", DefaultValueFactory = _ => 2 };
        var command = new Command("bench-allreduce", "Under mpirun: median time and bandwidth of an in-place float all-reduce between the processes.")
        {
            floats, iterations, warmup,
        };
        command.SetAction(parse => CommandGuard.Run(error, "bench-allreduce", () =>
        {
            int n = Flags.Positive(parse.GetValue(floats), "--floats");
            int runs = Flags.Positive(parse.GetValue(iterations), "--iterations");
            int warm = Flags.NonNegative(parse.GetValue(warmup), "--warmup");
            using var comm = MpiJob.Join(TimeSpan.FromMinutes(10));
            var data = new float[n];
            data.AsSpan().Fill(comm.Rank + 1);
            var times = new List<double>();
            for (int i = 0; i < warm + runs; i++)
            {
                comm.Barrier();
                var clock = Stopwatch.StartNew();
                comm.AllReduceSum(data);
                double s = clock.Elapsed.TotalSeconds;
                if (i >= warm)
                {
                    times.Add(s);
                }
            }

            times.Sort();
            double median = times[times.Count / 2], bytes = 4.0 * n;
            double algbw = bytes / median / 1e9, busbw = algbw * 2 * (comm.Size - 1) / comm.Size;
            if (comm.Rank == 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"all-reduce of {n:N0} floats ({bytes / 1048576:F0} MiB) over {comm.Size} process(es): median {median * 1000:F1} ms " +
                    $"(min {times[0] * 1000:F1}, max {times[^1] * 1000:F1}) over {runs}; algbw {algbw:F2} GB/s, busbw {busbw:F2} GB/s"));
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
