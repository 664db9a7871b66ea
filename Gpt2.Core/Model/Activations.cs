using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The tensors a forward pass keeps for the backward, for one (B,T), named as llm.c's ActivationTensors.
/// The same class, without the statistics, holds their gradients.
/// </summary>
internal sealed class Activations : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public Activations(IComputeBackend backend, Gpt2Config config, int b, int t, bool gradients)
    {
        long bt = (long)b * t, c = config.ChannelCount, l = config.LayerCount, nh = config.HeadCount, vp = config.PaddedVocabularySize;
        DeviceBuffer<float> New(long n) { var buffer = backend.Allocate<float>(n); _owned.Add(buffer); return buffer; }
        DeviceBuffer<float>? Stat(long n) => gradients ? null : New(n);
        BatchSize = b;
        SequenceLength = t;
        Encoded = New(bt * c);          // (B,T,C)
        Ln1 = New(l * bt * c);          // (L,B,T,C)
        Ln1Mean = Stat(l * bt);         // (L,B,T)
        Ln1Rstd = Stat(l * bt);         // (L,B,T)
        Qkv = New(l * bt * 3 * c);      // (L,B,T,3C)
        Atty = New(l * bt * c);         // (L,B,T,C)
        Att = Stat(l * b * nh * t * t); // (L,B,NH,T,T)
        AttProj = New(l * bt * c);      // (L,B,T,C)
        Residual2 = New(l * bt * c);    // (L,B,T,C)
        Ln2 = New(l * bt * c);          // (L,B,T,C)
        Ln2Mean = Stat(l * bt);         // (L,B,T)
        Ln2Rstd = Stat(l * bt);         // (L,B,T)
        Fch = New(l * bt * 4 * c);      // (L,B,T,4C)
        FchGelu = New(l * bt * 4 * c);  // (L,B,T,4C)
        FcProj = New(l * bt * c);       // (L,B,T,C)
        Residual3 = New(l * bt * c);    // (L,B,T,C)
        Lnf = New(bt * c);              // (B,T,C)
        LnfMean = Stat(bt);             // (B,T)
        LnfRstd = Stat(bt);             // (B,T)
        Logits = New(bt * vp);          // (B,T,Vp)
        Probabilities = Stat(bt * vp);  // (B,T,Vp)
        Losses = Stat(bt);              // (B,T)
    }

    public int BatchSize { get; }
    public int SequenceLength { get; }
    public DeviceBuffer<float> Encoded { get; }
    public DeviceBuffer<float> Ln1 { get; }
    public DeviceBuffer<float>? Ln1Mean { get; }
    public DeviceBuffer<float>? Ln1Rstd { get; }
    public DeviceBuffer<float> Qkv { get; }
    public DeviceBuffer<float> Atty { get; }
    public DeviceBuffer<float>? Att { get; }
    public DeviceBuffer<float> AttProj { get; }
    public DeviceBuffer<float> Residual2 { get; }
    public DeviceBuffer<float> Ln2 { get; }
    public DeviceBuffer<float>? Ln2Mean { get; }
    public DeviceBuffer<float>? Ln2Rstd { get; }
    public DeviceBuffer<float> Fch { get; }
    public DeviceBuffer<float> FchGelu { get; }
    public DeviceBuffer<float> FcProj { get; }
    public DeviceBuffer<float> Residual3 { get; }
    public DeviceBuffer<float> Lnf { get; }
    public DeviceBuffer<float>? LnfMean { get; }
    public DeviceBuffer<float>? LnfRstd { get; }
    public DeviceBuffer<float> Logits { get; }
    public DeviceBuffer<float>? Probabilities { get; }
    public DeviceBuffer<float>? Losses { get; }

    /// <summary>All buffers, for zeroing gradients.</summary>
    public IEnumerable<DeviceBuffer<float>> Buffers => _owned.Cast<DeviceBuffer<float>>();

    /// <summary>Layer <paramref name="layer"/>'s slice of a per-layer tensor.</summary>
    public static DeviceView<float> Layer(DeviceBuffer<float> buffer, int layer, int layers)
    {
        long n = buffer.Length / layers;
        return buffer.Slice(layer * n, n);
    }

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }
}
