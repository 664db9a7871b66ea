using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Formats;
using Gpt2.Model;

namespace Gpt2.Tests.Model;

/// <summary>Generation with the KV cache gives the logits of a full forward pass at every position.</summary>
public sealed class InferenceSessionTests
{
    [TestCase("cpu")]
    [TestCase("ilgpu-cpu")]
    public void CachedLogitsEqualUncachedLogits(string backendName)
    {
        using ComputeBackend backend = backendName == "cpu" ? new CpuBackend() : new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
        using var model = Gpt2Model.Load(TestData.Fixture("hot", "model.bin"), backend);
        var state = DebugState.Read(TestData.Fixture("hot", "state.bin"), model.Config);
        int t = model.Config.MaxSequenceLength, v = model.Config.VocabularySize, vp = model.Config.PaddedVocabularySize;
        int[] tokens = [.. state.Inputs.Take(t)];
        model.Forward(tokens, 1, t);
        var full = new float[t * vp];
        model.GetLogits(full);

        using var session = new InferenceSession(model, t);
        for (int pos = 0; pos < t; pos++)
        {
            float[] cached = session.Next(tokens[pos]).ToArray();
            float[] expected = full.AsSpan(pos * vp, v).ToArray();
            Assert.That(cached, Is.EqualTo(expected).Within(2e-5f), $"position {pos}");
        }

        Assert.Throws<InvalidOperationException>(() => session.Next(1), "the cache is full");
        session.Reset();
        Assert.That(session.Next(tokens[0]).ToArray(), Is.EqualTo(full.AsSpan(0, v).ToArray()).Within(2e-5f), "after Reset");
    }
}
