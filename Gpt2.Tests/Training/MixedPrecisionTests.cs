using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Optimization;
using Gpt2.Text;
using Gpt2.Training;

namespace Gpt2.Tests.Training;

/// <summary>
/// bf16 mixed precision on the CPU backend (bf16 parameters, gradients and activations; fp32 math, moments and master
/// weights; parameters written from the masters with stochastic rounding): it learns as fp32 does, checkpoints as
/// llm.c's bf16 model file plus the masters, and resumes bit for bit.
/// </summary>
public sealed class MixedPrecisionTests : TempDirectoryTest
{
    private static (ushort[] Val, ushort[] Train) Tokens => TestData.TinyShakespeareTokens;

    private static readonly Gpt2Config Config = new(maxSequenceLength: 32, vocabularySize: Gpt2Config.Gpt2VocabularySize, paddedVocabularySize: 50304,
        layerCount: 2, headCount: 2, channelCount: 32);

    [Test]
    public void Bf16TrainingLandsWithinFiveHundredthsOfFp32()
    {
        float fp32 = Train(ElementType.Float32, steps: 40, Path.Combine(TempDir, "fp32")).Validation;
        var bf16 = Train(ElementType.BFloat16, steps: 40, Path.Combine(TempDir, "bf16"));
        Assert.That(fp32, Is.LessThan(10.0f), "the run learns (ln V = 10.83 at the start)");
        Assert.That(bf16.Validation, Is.EqualTo(fp32).Within(0.05f), "validation loss after 40 steps");

        string model = Path.Combine(TempDir, "bf16", "model_00000040.bin");
        Assert.That(ModelFile.ReadHeader(model).Format, Is.EqualTo(ModelFileFormat.BFloat16), "a bf16 run checkpoints llm.c's version 5 file");
        var state = TrainingState.Read(Path.Combine(TempDir, "bf16", "state_00000040.bin"), new ParameterLayout(Config).Count);
        Assert.That(state.MasterWeights, Is.Not.Null, "with its fp32 master weights");
        var parameters = ModelFile.Read(model).Parameters;
        Assert.That(parameters.Zip(state.MasterWeights!, (p, m) => (p, m)).All(x => Neighbours(x.m).Contains(x.p)), Is.True,
            "every bf16 parameter is one of the two bf16 neighbours of its master weight (stochastic rounding)");
        Assert.That(parameters.Zip(state.MasterWeights!).Count(x => x.First != x.Second), Is.GreaterThan(parameters.Length / 2),
            "the masters keep the precision bf16 drops");
    }

    [Test]
    public void Bf16ResumesBitForBitAndAnFp32ModelResumesFromTheMasters()
    {
        string dir = Path.Combine(TempDir, "run");
        var whole = Train(ElementType.BFloat16, steps: 8, dir, checkpointEvery: 4);
        string model4 = Path.Combine(dir, "model_00000004.bin"), state4 = Path.Combine(dir, "state_00000004.bin");
        var resumed = Train(ElementType.BFloat16, steps: 8, Path.Combine(TempDir, "again"), restore: (model4, state4));
        Assert.That(resumed.Losses, Is.EqualTo(whole.Losses.Skip(4)), "bit-identical losses");
        Assert.That(File.ReadAllBytes(Path.Combine(TempDir, "again", "model_00000008.bin")), Is.EqualTo(File.ReadAllBytes(Path.Combine(dir, "model_00000008.bin"))),
            "the same parameters: the stochastic rounding is keyed by step, not by a generator the checkpoint would have to carry");

        // an fp32 model continues from the masters (more precise than the bf16 parameters), with the moments
        var fp32 = Train(ElementType.Float32, steps: 8, Path.Combine(TempDir, "fp32"), restore: (model4, state4), allowChanges: true);
        Assert.That(fp32.Losses, Has.Count.EqualTo(4));
        Assert.That(fp32.Losses.Zip(whole.Losses.Skip(4), (a, b) => Math.Abs(a - b)).Max(), Is.LessThan(0.02f), "the same run, in fp32 from step 4");
    }

    [Test]
    public void WithoutMasterWeightsBf16StillLearnsAndResumesBitForBit()
    {
        float fp32 = Train(ElementType.Float32, steps: 40, Path.Combine(TempDir, "fp32")).Validation;
        string dir = Path.Combine(TempDir, "w0");
        var whole = Train(ElementType.BFloat16, steps: 40, dir, checkpointEvery: 20, masterWeights: false);
        Assert.That(whole.Validation, Is.EqualTo(fp32).Within(0.1f), "-w 0 loses the updates below bf16's resolution but still learns");
        var state = TrainingState.Read(Path.Combine(dir, "state_00000020.bin"), new ParameterLayout(Config).Count);
        Assert.That(state.MasterWeights, Is.Null, "no masters to checkpoint");
        var resumed = Train(ElementType.BFloat16, steps: 40, Path.Combine(TempDir, "w0-again"), masterWeights: false,
            restore: (Path.Combine(dir, "model_00000020.bin"), Path.Combine(dir, "state_00000020.bin")));
        Assert.That(resumed.Losses, Is.EqualTo(whole.Losses.Skip(20)), "bit-identical losses");
    }

    [Test]
    public void ABackendWithoutBf16RefusesABf16Model()
    {
        using var ilgpu = new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
        var e = Assert.Throws<NotSupportedException>(() => new Gpt2Model(Config, ilgpu, ElementType.BFloat16));
        Assert.That(e!.Message, Does.Contain("bf16"));
        using var cpu = new CpuBackend(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt2Model(Config, cpu, ElementType.Int32));
    }

    private (List<float> Losses, float Validation) Train(ElementType precision, int steps, string output, int checkpointEvery = 0,
        (string Model, string State)? restore = null, bool allowChanges = false, bool masterWeights = true)
    {
        TokenShard.Write(Path.Combine(TempDir, "val.bin"), Tokens.Val);
        TokenShard.Write(Path.Combine(TempDir, "train.bin"), Tokens.Train);
        using var backend = new CpuBackend(2);
        using var model = Gpt2Model.CreateRandom(Config, backend, 7, precision);
        var options = new TrainerOptions
        {
            MaxSteps = steps, ValidationEvery = steps, ValidationBatches = 4, SampleEvery = 0, CheckpointEvery = checkpointEvery,
            OutputDirectory = output, AllowResumeChanges = allowChanges,
            Schedule = new LearningRateSchedule(ScheduleKind.Cosine, 3e-3f, 4, steps, 0.1f),
            Optimizer = new AdamWOptions
            {
                Beta2 = 0.95f, WeightDecay = 0.1f, WeightDecayMode = WeightDecayMode.MatricesOnly, MaxGradientNorm = 1f, MasterWeights = masterWeights,
            },
        };
        using var trainer = new Trainer(model, new DataLoader(Path.Combine(TempDir, "train.bin"), 4, 32, Config.VocabularySize),
            new DataLoader(Path.Combine(TempDir, "val.bin"), 4, 32, Config.VocabularySize), options);
        if (restore is { } r)
        {
            trainer.Restore(r.Model, TrainingState.Read(r.State, model.Layout.Count));
        }

        var losses = new List<float>();
        trainer.StepCompleted += (_, s) => losses.Add(s.Loss);
        var summary = trainer.Run();
        return (losses, summary.FinalValidationLoss ?? float.NaN);
    }

    private static float[] Neighbours(float value)
    {
        uint down = BitConverter.SingleToUInt32Bits(value) >> 16;
        return [BitConverter.Int32BitsToSingle((int)(down << 16)), BitConverter.Int32BitsToSingle((int)((down + 1) << 16))];
    }
}
