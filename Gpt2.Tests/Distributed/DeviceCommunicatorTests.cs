using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Backends.Ilgpu.Nccl;
using Gpt2.Data;
using Gpt2.Distributed;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Training;

namespace Gpt2.Tests.Distributed;

/// <summary>
/// The trainer's use of a device communicator (NCCL on GPUs), with a recording stand-in on the CPU backend: which
/// collectives run on which buffers, and that the optimizer uses what they leave.
/// </summary>
public sealed class DeviceCommunicatorTests : TempDirectoryTest
{
    private const int Steps = 4;

    [Test]
    public void PlainDataParallelBroadcastsOnceAndAllReducesTheGradientsEveryStep()
    {
        var (baseline, _) = Train(zeroStage: 0, device: null);
        var (losses, calls) = Train(zeroStage: 0, device: b => new RecordingCommunicator(b));

        Assert.That(losses, Is.EqualTo(baseline), "in one process the collectives change nothing");
        Assert.That(calls, Is.EqualTo(new[] { "Broadcast parameters root 0" }.Concat(Enumerable.Repeat("AllReduceSum gradients", Steps))));
    }

    [Test]
    public void ZeroStageOneReduceScattersGradientsAndAllGathersParametersEveryStep()
    {
        var (baseline, _) = Train(zeroStage: 0, device: null);
        var (losses, calls) = Train(zeroStage: 1, device: b => new RecordingCommunicator(b));

        Assert.That(losses, Is.EqualTo(baseline), "a one-process shard is the whole optimizer state");
        var step = new[] { "ReduceScatterSum gradients", "AllGather parameters" };
        Assert.That(calls, Is.EqualTo(new[] { "Broadcast parameters root 0" }.Concat(Enumerable.Repeat(step, Steps).SelectMany(s => s))));
    }

    [Test]
    public void TheOptimizerStepsOnWhatTheAllReduceLeaves()
    {
        // a communicator that zeroes the reduced gradients: without weight decay, Adam then leaves every parameter as it
        // was, so the same batch (overfit) gives the same loss at every step
        var (losses, _) = Train(zeroStage: 0, device: b => new RecordingCommunicator(b) { ZeroAllReduce = true }, overfit: true);

        Assert.That(losses.Distinct().Count(), Is.EqualTo(1), string.Join(", ", losses));
        var (learning, _) = Train(zeroStage: 0, device: b => new RecordingCommunicator(b), overfit: true);
        Assert.That(learning[^1], Is.LessThan(learning[0]), "with the real sums the loss falls");
    }

    [Test]
    public void ADeviceCommunicatorOfAnotherJobShapeIsRefused()
    {
        WriteShard();
        using var backend = new CpuBackend(1);
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 3);
        var options = Options(zeroStage: 0, overfit: false);
        using var device = new RecordingCommunicator(backend) { ReportedSize = 2 };

        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, Loader(), null, options, LocalCommunicator.Instance, device));
        Assert.That(e!.ParamName, Is.EqualTo("deviceCommunicator"));
        Assert.That(e.Message, Does.Contain("rank 0 of 2").And.Contain("rank 0 of 1"));
    }

    [Test]
    public void NcclNeedsTheIlgpuBackendOnCuda()
    {
        using var backend = new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });

        var e = Assert.Throws<InvalidOperationException>(() => NcclCommunicator.Create(backend, LocalCommunicator.Instance));
        Assert.That(e!.Message, Does.Contain("CUDA"));
    }

    private (List<float> Losses, List<string> Calls) Train(int zeroStage, Func<ComputeBackend, RecordingCommunicator>? device, bool overfit = false)
    {
        WriteShard();
        var options = Options(zeroStage, overfit);
        using var backend = new CpuBackend(1);
        using var model = Gpt2Model.CreateRandom(Gpt2Config.FromDescriptor("L1H2C16"), backend, seed: 3);
        using var communicator = device?.Invoke(backend);
        communicator?.Name(model);
        using var trainer = new Trainer(model, Loader(), null, options, LocalCommunicator.Instance, communicator);
        var losses = new List<float>();
        trainer.StepCompleted += (_, r) => losses.Add(r.Loss);
        trainer.Run();
        return (losses, communicator?.Calls ?? []);
    }

    private TrainerOptions Options(int zeroStage, bool overfit) => new()
    {
        MaxSteps = Steps, ValidationEvery = 0, SampleEvery = 0, ZeroStage = zeroStage,
        OverfitSingleBatch = overfit,
        Schedule = new LearningRateSchedule(ScheduleKind.Constant, 1e-3f, 0, Steps, 1f),
        Optimizer = new AdamWOptions { WeightDecay = 0f, MaxGradientNorm = 1f },
    };

    private DataLoader Loader() =>
        new(Path.Combine(TempDir, "tokens.bin"), batchSize: 2, sequenceLength: 16, Gpt2Config.Gpt2VocabularySize);

    private void WriteShard()
    {
        var rng = new Random(11);
        var tokens = new ushort[2 * 16 * (Steps + 2) + 1];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = (ushort)rng.Next(50257);
        }

        TokenShard.Write(Path.Combine(TempDir, "tokens.bin"), tokens);
    }

    /// <summary>A one-process device communicator that records each collective with the tensor it was given.</summary>
    private sealed class RecordingCommunicator(ComputeBackend backend) : IDeviceCommunicator
    {
        private DeviceBuffer? _parameters, _gradients;

        public List<string> Calls { get; } = [];

        public bool ZeroAllReduce { get; init; }

        public int ReportedSize { get; init; } = 1;

        public int Rank => 0;

        public int Size => ReportedSize;

        string IDeviceCommunicator.Name => "recording";

        public void Name(Gpt2Model model)
        {
            _parameters = model.Parameters.All.Buffer;
            _gradients = model.Gradients.All.Buffer;
        }

        public void AllReduceSum(DeviceTensor values)
        {
            Calls.Add($"AllReduceSum {What(values)}");
            if (ZeroAllReduce)
            {
                backend.Fill(values, 0f);
            }
        }

        public void Broadcast(DeviceTensor values, int root) => Calls.Add($"Broadcast {What(values)} root {root}");

        public void ReduceScatterSum(DeviceTensor values, ReadOnlySpan<int> counts)
        {
            Communicators.CheckCounts(counts, 1, values.Length, part: null, 0);
            Calls.Add($"ReduceScatterSum {What(values)}");
        }

        public void AllGather(DeviceTensor values, ReadOnlySpan<int> counts)
        {
            Communicators.CheckCounts(counts, 1, values.Length, part: null, 0);
            Calls.Add($"AllGather {What(values)}");
        }

        public void Dispose()
        {
        }

        private string What(DeviceTensor view) =>
            ReferenceEquals(view.Buffer, _parameters) && view.Offset == 0 ? "parameters"
            : ReferenceEquals(view.Buffer, _gradients) && view.Offset == 0 ? "gradients"
            : $"another view ({view.Length})";
    }
}
