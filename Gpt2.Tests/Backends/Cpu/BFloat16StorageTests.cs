using Gpt2.Backends;
using Gpt2.Backends.Cpu;
using Gpt2.Formats;

namespace Gpt2.Tests.Backends.Cpu;

/// <summary>
/// bf16 storage on the CPU backend: every op, run on bf16 tensors, gives exactly its fp32 result rounded to nearest
/// even (inputs drawn on the bf16 grid, so both runs see the same numbers); fp32-only tensors (LayerNorm statistics,
/// losses, AdamW moments, log-sum-exp) come out bit-identical to the fp32 run; int32 token ids are untouched.
/// </summary>
public sealed class BFloat16StorageTests
{
    private const int B = 2, T = 5, C = 12, NH = 3, V = 11, Vp = 16;

    /// <summary>An argument: its shape and kind; Real arguments are bf16 in the bf16 run, the others keep their type.</summary>
    public sealed record Arg(TensorShape Shape, ArgKind Kind = ArgKind.Real, float Scale = 1f, int Below = 0);

    public enum ArgKind
    {
        Real,
        Fp32,
        Tokens,
        Positive,
    }

    private static IEnumerable<TestCaseData> Ops()
    {
        TestCaseData Op(string name, Arg[] args, Action<ComputeBackend, DeviceTensor[]> op) => new TestCaseData(args, op).SetName(name);
        TensorShape btc = [B, T, C], bt = [B, T];
        yield return Op("encoder", [new([B, T], ArgKind.Tokens, Below: V), new([Vp, C]), new([T, C]), new(btc)],
            (be, a) => be.EncoderForward(a[0], a[1], a[2], a[3]));
        yield return Op("encoder backward", [new(btc), new([B, T], ArgKind.Tokens, Below: V), new([Vp, C]), new([T, C])],
            (be, a) => be.EncoderBackward(a[0], a[1], a[2], a[3]));
        yield return Op("layernorm", [new(btc, Scale: 2f), new([C]), new([C]), new(btc), new(bt, ArgKind.Fp32), new(bt, ArgKind.Fp32)],
            (be, a) => be.LayerNormForward(a[0], a[1], a[2], a[3], a[4], a[5]));
        yield return Op("layernorm backward", [new(btc), new(btc, Scale: 2f), new([C]), new(bt, ArgKind.Fp32), new(bt, ArgKind.Positive), new(btc), new([C]), new([C])],
            (be, a) => be.LayerNormBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]));
        yield return Op("matmul", [new(btc), new([7, C]), new([7]), new([B, T, 7])], (be, a) => be.MatmulForward(a[0], a[1], a[2], a[3]));
        yield return Op("matmul backward", [new([B, T, 7]), new(btc), new([7, C]), new(btc), new([7, C]), new([7])],
            (be, a) => be.MatmulBackward(a[0], a[1], a[2], a[3], a[4], a[5]));
        yield return Op("attention", [new([B, T, 3 * C], Scale: 1.5f), new(btc), new([B, NH, T, T])], (be, a) => be.AttentionForward(a[0], a[1], a[2]));
        yield return Op("attention backward", [new(btc), new([B, T, 3 * C]), new([B, NH, T, T], ArgKind.Positive), new([B, T, 3 * C])],
            (be, a) => be.AttentionBackward(a[0], a[1], a[2], a[3]));
        yield return Op("flash attention", [new([B, T, 3 * C], Scale: 1.5f), new(btc), new([B, NH, T], ArgKind.Fp32)],
            (be, a) => be.FlashAttentionForward(a[0], a[1], a[2]));
        yield return Op("flash attention backward", [new(btc), new([B, T, 3 * C]), new(btc), new([B, NH, T], ArgKind.Positive), new([B, T, 3 * C])],
            (be, a) => be.FlashAttentionBackward(a[0], a[1], a[2], a[3], a[4]));
        yield return Op("attention decode", [new([T, 3 * C], Scale: 1.5f), new([C])], (be, a) => be.AttentionDecode(a[0], a[1], NH));
        yield return Op("gelu", [new([B, T, 4 * C], Scale: 3f), new([B, T, 4 * C])], (be, a) => be.GeluForward(a[0], a[1]));
        yield return Op("gelu backward", [new([B, T, 4 * C]), new([B, T, 4 * C], Scale: 3f), new([B, T, 4 * C])], (be, a) => be.GeluBackward(a[0], a[1], a[2]));
        yield return Op("residual", [new(btc), new(btc), new(btc)], (be, a) => be.ResidualForward(a[0], a[1], a[2]));
        yield return Op("softmax cross-entropy", [new([B, T, Vp], Scale: 4f), new(bt, ArgKind.Tokens, Below: V), new([B, T, Vp]), new(bt, ArgKind.Fp32)],
            (be, a) => be.SoftmaxCrossEntropyForward(a[0], a[1], a[2], a[3], V));
        yield return Op("softmax cross-entropy backward", [new([B, T, Vp], ArgKind.Positive), new(bt, ArgKind.Tokens, Below: V), new([B, T, Vp])],
            (be, a) => be.SoftmaxCrossEntropyBackward(a[0], a[1], a[2], 0.1f, V));
        yield return Op("adamw", [new([301]), new([301]), new([301], ArgKind.Fp32, 0.1f), new([301], ArgKind.Positive)],
            (be, a) => be.AdamWUpdate(a[0], a[1], a[2], a[3], new AdamWStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f)));
        yield return Op("sum of squares", [new([301]), new([1], ArgKind.Fp32)], (be, a) => be.SumOfSquares(a[0], a[1]));
        yield return Op("fill", [new([37])], (be, a) => be.Fill(a[0], 0.3f));
    }

    [TestCaseSource(nameof(Ops))]
    public void Bf16ResultsAreTheFp32ResultsRounded(Arg[] args, Action<ComputeBackend, DeviceTensor[]> op)
    {
        var rng = new Random(17);
        var values = args.Select(a => Draw(rng, a)).ToArray();
        using var backend = new CpuBackend(2);
        var fp32 = Run(backend, args, values, op, bf16: false);
        var bf16 = Run(backend, args, values, op, bf16: true);
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Kind == ArgKind.Tokens)
            {
                continue;
            }

            var expected = args[i].Kind == ArgKind.Real ? fp32[i].Select(v => BitConverter.Int32BitsToSingle(BFloat16.FromSingle(v) << 16)).ToArray() : fp32[i];
            Assert.That(bf16[i], Is.EqualTo(expected), $"argument {i} ({(args[i].Kind == ArgKind.Real ? "bf16: the fp32 result rounded" : "fp32: identical")})");
        }
    }

    private static float[] Draw(Random rng, Arg a)
    {
        var v = new float[a.Shape.Length];
        for (int i = 0; i < v.Length; i++)
        {
            float x = a.Kind switch
            {
                ArgKind.Tokens => rng.Next(a.Below),
                ArgKind.Positive => (float)rng.NextDouble() + 0.05f,
                _ => (float)(rng.NextDouble() * 2 - 1) * a.Scale,
            };
            v[i] = a.Kind == ArgKind.Tokens ? x : BitConverter.Int32BitsToSingle(BFloat16.FromSingle(x) << 16); // on the bf16 grid
        }

        return v;
    }

    private static float[][] Run(CpuBackend backend, Arg[] args, float[][] values, Action<ComputeBackend, DeviceTensor[]> op, bool bf16)
    {
        var buffers = new List<DeviceBuffer>();
        try
        {
            var tensors = new DeviceTensor[args.Length];
            for (int i = 0; i < args.Length; i++)
            {
                var type = args[i].Kind switch
                {
                    ArgKind.Tokens => ElementType.Int32,
                    ArgKind.Real when bf16 => ElementType.BFloat16,
                    _ => ElementType.Float32,
                };
                var buffer = backend.Allocate(type, args[i].Shape);
                buffers.Add(buffer);
                tensors[i] = buffer.Tensor;
                switch (type)
                {
                    case ElementType.Int32:
                        backend.Upload<int>(values[i].Select(v => (int)v).ToArray(), buffer.Tensor);
                        break;
                    case ElementType.BFloat16:
                        backend.Upload<ushort>(values[i].Select(BFloat16.FromSingle).ToArray(), buffer.Tensor);
                        break;
                    default:
                        backend.Upload<float>(values[i], buffer.Tensor);
                        break;
                }
            }

            op(backend, tensors);
            return tensors.Select(t =>
            {
                var result = new float[t.Length];
                if (t.ElementType == ElementType.BFloat16)
                {
                    var bits = new ushort[t.Length];
                    backend.Download<ushort>(t, bits);
                    BFloat16.ToSingle(bits, result);
                }
                else if (t.ElementType == ElementType.Float32)
                {
                    backend.Download<float>(t, result);
                }

                return result;
            }).ToArray();
        }
        finally
        {
            buffers.ForEach(b => b.Dispose());
        }
    }
}
