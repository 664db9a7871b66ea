using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Gpt2.Backends;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Bench;

/// <summary>
/// <c>mpirun -np N gpt2 bench-allreduce</c>: the time and bandwidth of the gradient all-reduce (in place, sum of
/// floats) between the job's processes; by default the size of GPT-2 124M's gradients. Through MPI on host memory, or
/// with <c>--collectives nccl</c> through NCCL on each process's GPU. A first all-reduce checks every sum.
/// </summary>
internal static class AllReduceBenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var floats = new Option<int>("--floats") { Description = "Floats per all-reduce (default: GPT-2 124M's 124,475,904 parameters).", DefaultValueFactory = _ => 124_475_904 };
        var iterations = new Option<int>("--iterations") { Description = "Timed all-reduces.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed all-reduces first.", DefaultValueFactory = _ => 2 };
        var collectives = new Option<string>("--collectives") { Description = "host (MPI on host memory) or nccl (NCCL on CUDA GPUs).", DefaultValueFactory = _ => "host" };
        collectives.AcceptOnlyFromAmong("host", "nccl");
        var command = new Command("bench-allreduce", "Under mpirun: median time and bandwidth of an in-place float all-reduce between the processes.")
        {
            floats, iterations, warmup, collectives,
        };
        command.SetAction(parse => CommandGuard.Run(error, "bench-allreduce", () =>
        {
            int n = Flags.Positive(parse.GetValue(floats), "--floats");
            int runs = Flags.Positive(parse.GetValue(iterations), "--iterations");
            int warm = Flags.NonNegative(parse.GetValue(warmup), "--warmup");
            using var comm = MpiJob.Join(TimeSpan.FromMinutes(10));
            using var be = parse.GetValue(collectives) == "nccl" ? CudaBackend() : null;
            using var device = be is null ? null : Collectives.Create("nccl", be, comm);
            var data = new float[n];
            using var buffer = be?.Allocate(ElementType.Float32, [n]);
            Action allReduce = device is null ? () => comm.AllReduceSum(data) : () =>
            {
                device.AllReduceSum(buffer!.Tensor);
                be!.Synchronize();
            };

            // every rank contributes rank + 1 to every element: each sum must be size·(size + 1)/2
            data.AsSpan().Fill(comm.Rank + 1);
            if (be is not null)
            {
                be.Upload<float>(data, buffer!.Tensor);
                allReduce();
                be.Download(buffer!.Tensor, data);
            }
            else
            {
                allReduce();
            }

            float expected = comm.Size * (comm.Size + 1) / 2f;
            int wrong = data.AsSpan().IndexOfAnyExcept(expected);
            if (wrong >= 0)
            {
                throw new InvalidOperationException($"The all-reduce is wrong: element {wrong} holds {data[wrong]}, expected {expected}.");
            }

            var times = new List<double>();
            for (int i = 0; i < warm + runs; i++)
            {
                comm.Barrier();
                var clock = Stopwatch.StartNew();
                allReduce();
                double s = clock.Elapsed.TotalSeconds;
                if (i >= warm)
                {
                    times.Add(s);
                }
            }

            times.Sort();
            double median = times[times.Count / 2], bytes = 4.0 * n;
            double algbw = median > 0 ? bytes / median / 1e9 : 0, busbw = algbw * 2 * (comm.Size - 1) / comm.Size;
            if (comm.Rank == 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"all-reduce ({device?.Name ?? (comm.Size > 1 ? "mpi, host memory" : "one process: nothing to exchange")}) of {n:N0} floats ({bytes / 1048576:F0} MiB) over {comm.Size} process(es), sums checked: median {median * 1000:F1} ms " +
                    $"(min {times[0] * 1000:F1}, max {times[^1] * 1000:F1}) over {runs}; algbw {algbw:F2} GB/s, busbw {busbw:F2} GB/s"));
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static ComputeBackend CudaBackend()
    {
        try
        {
            return Cli.Backends.Create("ilgpu-cuda", null, localRank: MpiJob.LocalRank);
        }
        catch (UsageException e)
        {
            throw new UsageException($"--collectives nccl: {e.Message}");
        }
    }
}
