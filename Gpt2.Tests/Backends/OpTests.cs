using Gpt2.Backends;
using Gpt2.Tests.Reference;

namespace Gpt2.Tests.Backends;

/// <summary>
/// Every op of a backend against the float64 reference: the forward elementwise, and the backward against
/// central finite differences of the reference forward (so the backward is checked to be the true derivative).
/// Backward outputs start from random values to check that they accumulate. Shapes are multiples of nothing:
/// B=2, T=5, C=12, NH=3, OC=7, V=11, Vp=16. A backend's test fixture derives from this class.
/// </summary>
public abstract class OpTests
{
    private const int B = 2, T = 5, C = 12, NH = 3, OC = 7, V = 11, Vp = 16, Rows = B * T;

    // fp32 kernels vs float64: forward values agree to ~1e-6 of their scale; derivatives likewise.
    private const double ForwardTolerance = 2e-5;
    private const double GradientTolerance = 2e-5;

    private ComputeBackend _backend = null!;
    private Random _rng = null!;

    protected abstract ComputeBackend CreateBackend();

    [SetUp]
    public void SetUp()
    {
        _backend = CreateBackend();
        _rng = new Random(1234);
    }

    [TearDown]
    public void TearDown() => _backend.Dispose();

    [Test]
    public void Encoder()
    {
        int[] tokens = Enumerable.Range(0, Rows).Select(_ => _rng.Next(V)).ToArray();
        tokens[3] = tokens[7]; // a repeated token must collect both gradients
        float[] wte = Rand(Vp * C), wpe = Rand(T * C + C), dOut = Rand(Rows * C); // wpe: maxT = T + 1
        var tok = Ints(tokens, [B, T]);
        var out_ = Poisoned([B, T, C]);
        _backend.EncoderForward(tok, Up(wte, [Vp, C]), Up(wpe, [T + 1, C]), out_);
        AssertClose(Down(out_), ReferenceOps.Encoder(tokens, D(wte), D(wpe), B, T, C), ForwardTolerance, "output");

        float[] priorWte = Rand(Vp * C), priorWpe = Rand(T * C + C);
        var dWte = Up(priorWte, [Vp, C]);
        var dWpe = Up(priorWpe, [T + 1, C]);
        _backend.EncoderBackward(Up(dOut, [B, T, C]), tok, dWte, dWpe);
        AssertGradient(Delta(Down(dWte), priorWte), wte, x => ReferenceOps.Encoder(tokens, x, D(wpe), B, T, C), dOut, "dWte");
        AssertGradient(Delta(Down(dWpe), priorWpe), wpe, x => ReferenceOps.Encoder(tokens, D(wte), x, B, T, C), dOut, "dWpe");
    }

    [Test]
    public void LayerNorm()
    {
        float[] x = Rand(Rows * C, 2f), w = Rand(C), b = Rand(C), dOut = Rand(Rows * C);
        var o = Poisoned([B, T, C]);
        var mean = Poisoned([B, T]);
        var rstd = Poisoned([B, T]);
        _backend.LayerNormForward(Up(x, [B, T, C]), Up(w, [C]), Up(b, [C]), o, mean, rstd);
        AssertClose(Down(o), ReferenceOps.LayerNorm(D(x), D(w), D(b), Rows, C), ForwardTolerance, "output");

        float[] pX = Rand(Rows * C), pW = Rand(C), pB = Rand(C);
        var dX = Up(pX, [B, T, C]);
        var dW = Up(pW, [C]);
        var dB = Up(pB, [C]);
        _backend.LayerNormBackward(Up(dOut, [B, T, C]), Up(x, [B, T, C]), Up(w, [C]), mean, rstd, dX, dW, dB);
        AssertGradient(Delta(Down(dX), pX), x, v => ReferenceOps.LayerNorm(v, D(w), D(b), Rows, C), dOut, "dInput");
        AssertGradient(Delta(Down(dW), pW), w, v => ReferenceOps.LayerNorm(D(x), v, D(b), Rows, C), dOut, "dWeight");
        AssertGradient(Delta(Down(dB), pB), b, v => ReferenceOps.LayerNorm(D(x), D(w), v, Rows, C), dOut, "dBias");
    }

    // rows 9: a partial row block; C 12 and OC 7: vector and scalar tails; C 70, OC 37: full 32-wide column chunks
    // and ragged ones, several tiles of the ILGPU GEMM.
    [TestCase(true, 12, 7)]
    [TestCase(false, 12, 7)]
    [TestCase(true, 70, 37)]
    public void Matmul(bool withBias, int c, int oc)
    {
        const int rows = 9;
        float[] x = Rand(rows * c), w = Rand(oc * c), bias = Rand(oc), dOut = Rand(rows * oc);
        var o = Poisoned([rows, oc]);
        _backend.MatmulForward(Up(x, [rows, c]), Up(w, [oc, c]), withBias ? Up(bias, [oc]) : null, o);
        AssertClose(Down(o), ReferenceOps.Matmul(D(x), D(w), withBias ? D(bias) : null, rows, c, oc), ForwardTolerance, "output");

        float[] pX = Rand(rows * c), pW = Rand(oc * c), pB = Rand(oc);
        var dX = Up(pX, [rows, c]);
        var dW = Up(pW, [oc, c]);
        var dB = Up(pB, [oc]);
        _backend.MatmulBackward(Up(dOut, [rows, oc]), Up(x, [rows, c]), Up(w, [oc, c]), dX, dW, withBias ? dB : null);
        double[]? bd = withBias ? D(bias) : null;
        AssertGradient(Delta(Down(dX), pX), x, v => ReferenceOps.Matmul(v, D(w), bd, rows, c, oc), dOut, "dInput");
        AssertGradient(Delta(Down(dW), pW), w, v => ReferenceOps.Matmul(D(x), v, bd, rows, c, oc), dOut, "dWeight");
        if (withBias)
        {
            AssertGradient(Delta(Down(dB), pB), bias, v => ReferenceOps.Matmul(D(x), D(w), v, rows, c, oc), dOut, "dBias");
        }
        else
        {
            Assert.That(Down(dB), Is.EqualTo(pB), "dBias must be untouched without a bias");
        }
    }

    // T=37 spans several GEMM tiles of the ILGPU kernels, so the causal tile skipping and K bounds are exercised.
    [TestCase(2, 5)]
    [TestCase(1, 37)]
    public void Attention(int b, int t)
    {
        int rows = b * t;
        float[] qkv = Rand(rows * 3 * C, 1.5f), dOut = Rand(rows * C);
        var o = Poisoned([b, t, C]);
        var att = Poisoned([b, NH, t, t]);
        _backend.AttentionForward(Up(qkv, [b, t, 3 * C]), o, att);
        AssertClose(Down(o), ReferenceOps.Attention(D(qkv), b, t, C, NH, out double[] refAtt), ForwardTolerance, "output");
        AssertClose(Down(att), refAtt, ForwardTolerance, "attention (zero above the diagonal)");

        float[] prior = Rand(rows * 3 * C);
        var dQkv = Up(prior, [b, t, 3 * C]);
        _backend.AttentionBackward(Up(dOut, [b, t, C]), Up(qkv, [b, t, 3 * C]), att, dQkv);
        AssertGradient(Delta(Down(dQkv), prior), qkv, v => ReferenceOps.Attention(v, b, t, C, NH, out _), dOut, "dQkv");
    }

    // (B,T,C,NH): the op-test shape; T=37 over several key tiles and row groups; T=1; hs=1; GPT-2's hs=64 with T not a
    // multiple of any tile; hs=128 with B·NH odd. Against the float64 reference (forward, log-sum-exp) and the CPU
    // backend's standard attention (backward), outputs poisoned; fp32 sums in another order: 3e-5 of the scale. On the
    // CPU backend the comparison is between its two attention implementations.
    [TestCase(2, 5, 12, 3)]
    [TestCase(1, 37, 12, 3)]
    [TestCase(3, 1, 12, 3)]
    [TestCase(2, 9, 3, 3)]
    [TestCase(1, 33, 128, 2)]
    [TestCase(1, 19, 384, 3)]
    public void FlashAttentionEqualsStandardAttention(int b, int t, int c, int nh)
    {
        Assert.That(_backend.Supports(AttentionKind.Flash), Is.True);
        const double tolerance = 3e-5;
        int rows = b * t;
        float[] qkv = Rand(rows * 3 * c, 1.5f), dOut = Rand(rows * c), prior = Rand(rows * 3 * c);
        var o = Poisoned([b, t, c]);
        var lse = Poisoned([b, nh, t]);
        _backend.FlashAttentionForward(Up(qkv, [b, t, 3 * c]), o, lse);
        AssertClose(Down(o), ReferenceOps.Attention(D(qkv), b, t, c, nh, out _), tolerance, "output");
        AssertClose(Down(lse), LogSumExp(D(qkv), b, t, c, nh), tolerance, "log-sum-exp");

        var dQkv = Up(prior, [b, t, 3 * c]);
        _backend.FlashAttentionBackward(Up(dOut, [b, t, c]), Up(qkv, [b, t, 3 * c]), o, lse, dQkv);
        using var cpu = new Gpt2.Backends.Cpu.CpuBackend(1);
        float[] expected = StandardAttentionGradient(cpu, qkv, dOut, prior, b, t, c, nh);
        AssertClose(Down(dQkv), expected.Select(v => (double)v).ToArray(), tolerance, "dQkv (accumulated)");
        if (t * c <= 60)
        {
            AssertGradient(Delta(Down(dQkv), prior), qkv, v => ReferenceOps.Attention(v, b, t, c, nh, out _), dOut, "dQkv against finite differences");
        }
    }

    [Test]
    public void TheModelTrainsTheSameWithFlashAttention()
    {
        var config = new Gpt2Config(maxSequenceLength: 16, vocabularySize: 40, paddedVocabularySize: 48, layerCount: 2, headCount: 3, channelCount: 12);
        int[] inputs = Enumerable.Range(0, 2 * 11).Select(_ => _rng.Next(40)).ToArray(), targets = inputs.Select(x => (x * 7 + 3) % 40).ToArray();
        (float Loss, float[] Gradients) Run(AttentionKind kind)
        {
            using var model = Gpt2.Model.Gpt2Model.CreateRandom(config, _backend, seed: 9);
            model.Attention = kind;
            float loss = model.Forward(inputs, targets, 2, 11);
            model.ZeroGrad();
            model.Backward();
            var g = new float[model.Layout.Count];
            model.GetGradients(g);
            return (loss, g);
        }

        var standard = Run(AttentionKind.Standard);
        var flash = Run(AttentionKind.Flash);
        Assert.That(flash.Loss, Is.EqualTo(standard.Loss).Within(1e-5));
        double scale = standard.Gradients.Max(Math.Abs);
        Assert.That(flash.Gradients.Zip(standard.Gradients, (f, s) => Math.Abs(f - s)).Max(), Is.LessThan(3e-5 * scale), "parameter gradients");
        Assert.That(Gpt2.Model.Gpt2Model.MeasureActivations(config, 2, 11, AttentionKind.Flash).ActivationBytes,
            Is.EqualTo(Gpt2.Model.Gpt2Model.MeasureActivations(config, 2, 11).ActivationBytes - 2L * 2 * 3 * 11 * (11 - 1) * 4), "(B,NH,T) kept instead of (B,NH,T,T)");
    }

    private static float[] StandardAttentionGradient(ComputeBackend cpu, float[] qkv, float[] dOut, float[] prior, int b, int t, int c, int nh)
    {
        using var q = cpu.Allocate(ElementType.Float32, [b, t, 3 * c]);
        using var o = cpu.Allocate(ElementType.Float32, [b, t, c]);
        using var att = cpu.Allocate(ElementType.Float32, [b, nh, t, t]);
        using var d = cpu.Allocate(ElementType.Float32, [b, t, c]);
        using var dq = cpu.Allocate(ElementType.Float32, [b, t, 3 * c]);
        cpu.Upload<float>(qkv, q.Tensor);
        cpu.Upload<float>(dOut, d.Tensor);
        cpu.Upload<float>(prior, dq.Tensor);
        cpu.AttentionForward(q.Tensor, o.Tensor, att.Tensor);
        cpu.AttentionBackward(d.Tensor, q.Tensor, att.Tensor, dq.Tensor);
        var result = new float[prior.Length];
        cpu.Download(dq.Tensor, result);
        return result;
    }

    /// <summary>log Σ_{t2≤t} exp(q_t·k_t2/√hs) per (b, h, t), in float64.</summary>
    private static double[] LogSumExp(double[] qkv, int b, int t, int c, int nh)
    {
        int hs = c / nh;
        var lse = new double[b * nh * t];
        for (int bi = 0; bi < b; bi++)
        {
            for (int h = 0; h < nh; h++)
            {
                for (int ti = 0; ti < t; ti++)
                {
                    var s = new double[ti + 1];
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        double dot = 0;
                        for (int d = 0; d < hs; d++)
                        {
                            dot += qkv[(bi * t + ti) * 3 * c + h * hs + d] * qkv[(bi * t + t2) * 3 * c + c + h * hs + d];
                        }

                        s[t2] = dot / Math.Sqrt(hs);
                    }

                    double max = s.Max();
                    lse[(bi * nh + h) * t + ti] = max + Math.Log(s.Sum(x => Math.Exp(x - max)));
                }
            }
        }

        return lse;
    }

    [TestCase(0)]
    [TestCase(36)]
    public void AttentionDecodeEqualsTheLastRowOfAttention(int position)
    {
        int t = position + 1;
        float[] qkv = Rand(t * 3 * C, 1.5f);
        var o = Poisoned([C]);
        _backend.AttentionDecode(Up(qkv, [t, 3 * C]), o, NH);
        double[] full = ReferenceOps.Attention(D(qkv), 1, t, C, NH, out _);
        AssertClose(Down(o), full[(position * C)..], ForwardTolerance, "output");
    }

    [Test]
    public void Gelu()
    {
        const int n = 37;
        float[] x = Rand(n, 4f), dOut = Rand(n);
        var o = Poisoned([n]);
        _backend.GeluForward(Up(x, [n]), o);
        AssertClose(Down(o), ReferenceOps.Gelu(D(x)), ForwardTolerance, "output");
        float[] prior = Rand(n);
        var dX = Up(prior, [n]);
        _backend.GeluBackward(Up(dOut, [n]), Up(x, [n]), dX);
        AssertGradient(Delta(Down(dX), prior), x, ReferenceOps.Gelu, dOut, "dInput");
    }

    [Test]
    public void Residual()
    {
        const int n = 29;
        float[] a = Rand(n), b = Rand(n);
        var o = Poisoned([n]);
        _backend.ResidualForward(Up(a, [n]), Up(b, [n]), o);
        AssertClose(Down(o), ReferenceOps.Residual(D(a), D(b)), ForwardTolerance, "output");
    }

    [Test]
    public void SoftmaxCrossEntropy()
    {
        float[] logits = Rand(Rows * Vp, 30f); // large logits: the max subtraction must hold
        int[] targets = Enumerable.Range(0, Rows).Select(_ => _rng.Next(V)).ToArray();
        var probs = Poisoned([B, T, Vp]);
        var losses = Poisoned([B, T]);
        var tg = Ints(targets, [B, T]);
        _backend.SoftmaxCrossEntropyForward(Up(logits, [B, T, Vp]), tg, probs, losses, V);
        AssertClose(Down(losses), ReferenceOps.CrossEntropy(D(logits), targets, Rows, V, Vp, out double[] refProbs), ForwardTolerance, "losses");
        AssertClose(Down(probs), refProbs, ForwardTolerance, "probabilities (zero in padding)");

        const float scale = 1f / Rows;
        float[] prior = Rand(Rows * Vp);
        var dLogits = Up(prior, [B, T, Vp]);
        _backend.SoftmaxCrossEntropyBackward(probs, tg, dLogits, scale, V);
        float[] delta = Delta(Down(dLogits), prior);
        AssertGradient(delta, logits, v => ReferenceOps.CrossEntropy(v, targets, Rows, V, Vp, out _),
            Enumerable.Repeat(scale, Rows).ToArray(), "dLogits");
        for (int r = 0; r < Rows; r++)
        {
            Assert.That(delta.AsSpan(r * Vp + V, Vp - V).ToArray(), Is.All.EqualTo(0f), "padding columns get no gradient");
        }
    }

    [Test]
    public void AdamWMatchesFormula()
    {
        const int n = 23;
        float[] p = Rand(n), g = Rand(n), m = Rand(n, 0.1f), v = Rand(n, 0.1f).Select(Math.Abs).ToArray();
        var step = new AdamWStep(LearningRate: 1e-2f, Beta1: 0.8f, Beta2: 0.95f, Epsilon: 1e-6f, WeightDecay: 0.1f, Step: 3, GradientScale: 0.5f);
        var pb = Up(p, [n]);
        var mb = Up(m, [n]);
        var vb = Up(v, [n]);
        _backend.AdamWUpdate(Up(g, [n]), pb, mb, vb, step);
        float[] po = Down(pb), mo = Down(mb), vo = Down(vb);
        for (int i = 0; i < n; i++)
        {
            double gi = g[i] * 0.5;
            double mi = 0.8 * m[i] + 0.2 * gi, vi = 0.95 * v[i] + 0.05 * gi * gi;
            double mh = mi / (1 - Math.Pow(0.8, 3)), vh = vi / (1 - Math.Pow(0.95, 3));
            double pi = p[i] - 1e-2 * (mh / (Math.Sqrt(vh) + 1e-6) + 0.1 * p[i]);
            Assert.That(mo[i], Is.EqualTo(mi).Within(1e-6), $"m[{i}]");
            Assert.That(vo[i], Is.EqualTo(vi).Within(1e-6), $"v[{i}]");
            Assert.That(po[i], Is.EqualTo(pi).Within(2e-6), $"param[{i}]");
        }
    }

    [Test]
    public void SumOfSquaresAndFill()
    {
        float[] x = Rand(100_003);
        var r = Poisoned([1]);
        _backend.SumOfSquares(Up(x, [x.Length]), r);
        double expected = x.Sum(v => (double)v * v);
        Assert.That(Down(r)[0], Is.EqualTo(expected).Within(expected * 1e-6));

        var f = Poisoned([77]);
        _backend.Fill(f.Slice(5, 70), 2.5f);
        float[] got = Down(f);
        Assert.That(got.AsSpan(5, 70).ToArray(), Is.All.EqualTo(2.5f));
        Assert.That(got[4], Is.Not.EqualTo(2.5f), "fill stays inside its view");
        Assert.That(got[75], Is.Not.EqualTo(2.5f), "fill stays inside its view");
    }

    [Test]
    public void WrongShapesAreRejected()
    {
        var x = Poisoned([2, 5]);
        var ex = Assert.Throws<ArgumentException>(() => _backend.GeluForward(x, Poisoned([10])));
        Assert.That(ex!.ParamName, Is.EqualTo("output"), "same length, other shape");
        ex = Assert.Throws<ArgumentException>(() => _backend.AttentionForward(Poisoned([1, 1, 36]), Poisoned([1, 1, 12]), Poisoned([1, 3, 2, 2])));
        Assert.That(ex!.ParamName, Is.EqualTo("attention"), "T of the probabilities differs from the qkv's");
        ex = Assert.Throws<ArgumentException>(() => _backend.MatmulForward(Poisoned([4, 12]), Poisoned([7, 11]), null, Poisoned([4, 7])));
        Assert.That(ex!.ParamName, Is.EqualTo("input"), "C of the input differs from the weight's");
        ex = Assert.Throws<ArgumentException>(() => _backend.LayerNormForward(Poisoned([3, 4]), Poisoned([4]), Poisoned([4]), Poisoned([3, 4]), Ints([0, 0, 0], [3]), Poisoned([3])));
        Assert.That(ex!.ParamName, Is.EqualTo("mean"), "statistics are fp32");
        ex = Assert.Throws<ArgumentException>(() => _backend.GeluForward(default, Poisoned([1])));
        Assert.That(ex!.ParamName, Is.EqualTo("input"), "no tensor");
    }

    [Test]
    public void TensorsOfAnotherBackendAreRejected()
    {
        using var other = new Gpt2.Backends.Cpu.CpuBackend(1);
        using var buffer = other.Allocate(ElementType.Float32, [5]);
        var ex = Assert.Throws<ArgumentException>(() => _backend.GeluForward(buffer.Tensor, Poisoned([5])));
        Assert.That(ex!.ParamName, Is.EqualTo("input"));
    }

    [Test]
    public void Bf16IsAllocatedOrRefusedWithAClearMessage()
    {
        if (_backend.Supports(ElementType.BFloat16))
        {
            using var buffer = _backend.Allocate(ElementType.BFloat16, [4]);
            Assert.That(buffer.Tensor.ElementType, Is.EqualTo(ElementType.BFloat16));
            return;
        }

        var ex = Assert.Throws<NotSupportedException>(() => _backend.Allocate(ElementType.BFloat16, [4]));
        Assert.That(ex!.Message, Does.Contain("bf16").And.Contain(_backend.Name));
    }

    [Test]
    public void ObserverSeesEveryOp()
    {
        var seen = new List<string>();
        _backend.Observer = new RecordingObserver(seen);
        _backend.GeluForward(Up(Rand(8), [8]), Poisoned([8]));
        _backend.MatmulForward(Up(Rand(6), [2, 3]), Up(Rand(12), [4, 3]), null, Poisoned([2, 4]));
        _backend.Observer = null;
        _backend.GeluForward(Up(Rand(8), [8]), Poisoned([8]));
        Assert.That(seen, Does.Contain("GeluForward (8) 0"));
        Assert.That(seen, Does.Contain("MatmulForward (4, 3) 48"), "a matmul reports its weight and 2·rows·C·OC flops");
        Assert.That(seen.Count(s => s.StartsWith("GeluForward", StringComparison.Ordinal)), Is.EqualTo(1), "nothing is reported once the observer is removed");
    }

    private sealed class RecordingObserver(List<string> seen) : IOpObserver
    {
        public void OnOpCompleted(string op, TensorShape operand, TimeSpan elapsed, double flops) => seen.Add($"{op} {operand} {flops}");
    }

    private float[] Rand(int n, float scale = 1f) => TestData.RandomFloats(_rng, n, scale);

    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();

    private static float[] Delta(float[] after, float[] prior) => after.Zip(prior, (a, p) => a - p).ToArray();

    private DeviceTensor Up(float[] data, TensorShape shape)
    {
        var b = _backend.Allocate(ElementType.Float32, shape);
        _backend.Upload<float>(data, b.Tensor);
        return b.Tensor;
    }

    private DeviceTensor Ints(int[] data, TensorShape shape)
    {
        var b = _backend.Allocate(ElementType.Int32, shape);
        _backend.Upload<int>(data, b.Tensor);
        return b.Tensor;
    }

    /// <summary>An output tensor full of NaN, so an element the op forgets to write shows up.</summary>
    private DeviceTensor Poisoned(TensorShape shape) => Up(Enumerable.Repeat(float.NaN, (int)shape.Length).ToArray(), shape);

    private float[] Down(DeviceTensor tensor)
    {
        var a = new float[tensor.Length];
        _backend.Download(tensor, a);
        return a;
    }

    private static void AssertClose(float[] actual, double[] expected, double tolerance, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance * scale), $"{what}[{i}]");
        }
    }

    /// <summary>Checks an analytic gradient of Σ dOut·f(x) against central differences of the float64 reference.</summary>
    private static void AssertGradient(float[] analytic, float[] x, Func<double[], double[]> f, float[] dOut, string what)
    {
        const double h = 1e-6;
        var at = D(x);
        double Loss(double[] v) => f(v).Select((y, i) => y * dOut[i]).Sum();
        var numeric = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double keep = at[i];
            at[i] = keep + h;
            double up = Loss(at);
            at[i] = keep - h;
            double down = Loss(at);
            at[i] = keep;
            numeric[i] = (up - down) / (2 * h);
        }

        AssertClose(analytic, numeric, GradientTolerance, what);
    }
}
