using Gpt2.Backends;

namespace Gpt2.Samples.Verify;

/// <summary>
/// Every op of a backend against the CPU backend on the same random inputs: outputs poisoned with NaN before each
/// run, accumulated gradients pre-filled with random values, and backward ops fed the reference's forward results so
/// each op is judged alone. Errors are relative to the reference's largest magnitude, with a tolerance per op.
/// </summary>
internal sealed class OpCheck(ComputeBackend reference, ComputeBackend candidate, int seed)
{
    private readonly Random _rng = new(seed);
    private readonly List<Comparison> _results = [];

    /// <summary>The sizes of one run.</summary>
    public sealed record Shape(string Name, int B, int T, int C, int NH, int V, int Vp, int MaxT)
    {
        public static readonly Shape Small = new("small", 3, 37, 48, 4, 101, 128, 40);

        public static readonly Shape D12 = new("d12", 4, 1024, 768, 12, 50257, 50304, 1024);
    }

    /// <summary>Relative tolerances (error ÷ max |reference|): elementwise ops, reductions, and the matmul-based ops.</summary>
    public sealed record Tolerance(double Elementwise, double Reduction, double Products);

    public IReadOnlyList<Comparison> Results => _results;

    public void Run(Shape s, Tolerance tol)
    {
        int b = s.B, t = s.T, c = s.C, rows = b * t;
        string at = $" {s.Name}";

        using (var tokens = Ints([b, t], s.V))
        using (var wte = Floats([s.Vp, c]))
        using (var wpe = Floats([s.MaxT, c]))
        using (var output = Poison([b, t, c]))
        {
            Both((be, r) => be.EncoderForward(tokens[r], wte[r], wpe[r], output[r]));
            Compare("encoder forward" + at, output, tol.Elementwise);
            using var dOut = Floats([b, t, c]);
            Both((be, r) => be.EncoderBackward(dOut[r], tokens[r], wte[r], wpe[r]));
            Compare("encoder backward dwte" + at, wte, tol.Reduction);
            Compare("encoder backward dwpe" + at, wpe, tol.Reduction);
        }

        using (var input = Floats([b, t, c], 2f))
        using (var weight = Floats([c]))
        using (var bias = Floats([c]))
        using (var output = Poison([b, t, c]))
        using (var mean = Poison([b, t]))
        using (var rstd = Poison([b, t]))
        {
            Both((be, r) => be.LayerNormForward(input[r], weight[r], bias[r], output[r], mean[r], rstd[r]));
            Compare("layernorm forward" + at, output, tol.Reduction);
            Compare("layernorm mean" + at, mean, tol.Reduction);
            Compare("layernorm 1/std" + at, rstd, tol.Reduction);
            using var dOut = Floats([b, t, c]);
            using var dIn = Floats([b, t, c]);
            using var dW = Floats([c]);
            using var dB = Floats([c]);
            SyncFromReference(mean, rstd);
            Both((be, r) => be.LayerNormBackward(dOut[r], input[r], weight[r], mean[r], rstd[r], dIn[r], dW[r], dB[r]));
            Compare("layernorm backward dinput" + at, dIn, tol.Reduction);
            Compare("layernorm backward dweight" + at, dW, tol.Reduction);
            Compare("layernorm backward dbias" + at, dB, tol.Reduction);
        }

        Matmul(s, c, 4 * c, withBias: true, "matmul fc" + at, tol.Products);
        Matmul(s, c, s.Vp, withBias: false, "matmul classifier" + at, tol.Products);

        using (var qkv = Floats([b, t, 3 * c]))
        using (var output = Poison([b, t, c]))
        using (var att = Poison([b, s.NH, t, t]))
        {
            Both((be, r) => be.AttentionForward(qkv[r], output[r], att[r]));
            Compare("attention forward" + at, output, tol.Products);
            Compare("attention probabilities" + at, att, tol.Products);
            using var dOut = Floats([b, t, c]);
            using var dQkv = Floats([b, t, 3 * c]);
            SyncFromReference(att);
            Both((be, r) => be.AttentionBackward(dOut[r], qkv[r], att[r], dQkv[r]));
            Compare("attention backward dqkv" + at, dQkv, tol.Products);
            using var cache = Floats([t, 3 * c]);
            using var decoded = Poison([c]);
            Both((be, r) => be.AttentionDecode(cache[r], decoded[r], s.NH));
            Compare("attention decode" + at, decoded, tol.Products);
        }

        if (candidate.Supports(AttentionKind.Flash) && c / s.NH <= 128)
        {
            // the reference runs standard attention, the candidate flash attention, on the same inputs
            using var qkv = Floats([b, t, 3 * c]);
            using var output = Poison([b, t, c]);
            using var att = Poison([b, s.NH, t, t]);
            using var lse = Poison([b, s.NH, t]);
            Both((be, r) =>
            {
                if (r)
                {
                    be.AttentionForward(qkv[r], output[r], att[r]);
                }
                else
                {
                    be.FlashAttentionForward(qkv[r], output[r], lse[r]);
                }
            });
            Compare("flash attention forward" + at, output, tol.Products);
            using var dOut = Floats([b, t, c]);
            using var dQkv = Floats([b, t, 3 * c]);
            Both((be, r) =>
            {
                if (r)
                {
                    be.AttentionBackward(dOut[r], qkv[r], att[r], dQkv[r]);
                }
                else
                {
                    be.FlashAttentionBackward(dOut[r], qkv[r], output[r], lse[r], dQkv[r]);
                }
            });
            Compare("flash attention backward dqkv" + at, dQkv, tol.Products);
        }

        TensorShape wide = [b, t, 4 * c];
        using (var input = Floats(wide, 3f))
        using (var other = Floats(wide))
        using (var output = Poison(wide))
        using (var dOut = Floats(wide))
        using (var dIn = Floats(wide))
        {
            Both((be, r) => be.GeluForward(input[r], output[r]));
            Compare("gelu forward" + at, output, tol.Elementwise);
            Both((be, r) => be.GeluBackward(dOut[r], input[r], dIn[r]));
            Compare("gelu backward" + at, dIn, tol.Elementwise);
            Both((be, r) => be.ResidualForward(input[r], other[r], output[r]));
            Compare("residual forward" + at, output, tol.Elementwise);
            Both((be, r) => be.Fill(output[r], 0.5f));
            Compare("fill" + at, output, 0);
            using var sum = Poison([1]);
            Both((be, r) => be.SumOfSquares(other[r], sum[r]));
            Compare("sum of squares" + at, sum, tol.Reduction);
        }

        using (var logits = Floats([b, t, s.Vp], 4f))
        using (var targets = Ints([b, t], s.V))
        using (var probabilities = Poison([b, t, s.Vp]))
        using (var losses = Poison([b, t]))
        using (var dLogits = Floats([b, t, s.Vp]))
        {
            Both((be, r) => be.SoftmaxCrossEntropyForward(logits[r], targets[r], probabilities[r], losses[r], s.V));
            Compare("softmax probabilities" + at, probabilities, tol.Reduction);
            Compare("cross-entropy losses" + at, losses, tol.Reduction);
            SyncFromReference(probabilities);
            Both((be, r) => be.SoftmaxCrossEntropyBackward(probabilities[r], targets[r], dLogits[r], 1f / rows, s.V));
            Compare("softmax cross-entropy backward" + at, dLogits, tol.Elementwise);
        }

        TensorShape vector = [12 * c * c + 5];
        using (var gradients = Floats(vector))
        using (var parameters = Floats(vector))
        using (var m = Floats(vector, 0.1f))
        using (var v = Positive(vector))
        {
            var step = new AdamWStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f);
            Both((be, r) => be.AdamWUpdate(gradients[r], parameters[r], m[r], v[r], step));
            Compare("adamw parameters" + at, parameters, tol.Elementwise);
            Compare("adamw m" + at, m, tol.Elementwise);
            Compare("adamw v" + at, v, tol.Elementwise);
        }
    }

    private void Matmul(Shape s, int c, int oc, bool withBias, string name, double tolerance)
    {
        TensorShape inputShape = [s.B, s.T, c], outputShape = [s.B, s.T, oc];
        using var input = Floats(inputShape);
        using var weight = Floats([oc, c], 0.1f);
        using var bias = withBias ? Floats([oc]) : null;
        using var output = Poison(outputShape);
        Both((be, r) => be.MatmulForward(input[r], weight[r], bias?[r], output[r]));
        Compare(name + " forward", output, tolerance);
        using var dOut = Floats(outputShape);
        using var dIn = Floats(inputShape);
        using var dW = Floats([oc, c]);
        using var dB = withBias ? Floats([oc]) : null;
        Both((be, r) => be.MatmulBackward(dOut[r], input[r], weight[r], dIn[r], dW[r], dB?[r]));
        Compare(name + " backward dinput", dIn, tolerance);
        Compare(name + " backward dweight", dW, tolerance);
        if (dB is not null)
        {
            Compare(name + " backward dbias", dB, tolerance);
        }
    }

    /// <summary>Runs an op on the reference (r = true) and on the candidate (r = false).</summary>
    private void Both(Action<ComputeBackend, bool> op)
    {
        op(reference, true);
        op(candidate, false);
    }

    private void Compare(string name, PairedTensor<float> tensor, double tolerance)
    {
        var expected = tensor.Download(true);
        var actual = tensor.Download(false);
        var (maxAbs, refMax) = Comparison.Measure(actual, expected);
        double relative = refMax > 0 ? maxAbs / refMax : maxAbs;
        _results.Add(new Comparison(name, maxAbs, refMax, relative <= tolerance, $"tolerance {tolerance:E0}"));
    }

    /// <summary>Gives the candidate the reference's values of forward results that a backward reads.</summary>
    private static void SyncFromReference(params PairedTensor<float>[] tensors)
    {
        foreach (var t in tensors)
        {
            t.SetCandidate(t.Download(true));
        }
    }

    private PairedTensor<float> Floats(TensorShape shape, float scale = 1f)
    {
        long n = shape.Length;
        var values = new float[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = (float)(_rng.NextDouble() * 2 - 1) * scale;
        }

        return new PairedTensor<float>(reference, candidate, shape, values);
    }

    private PairedTensor<float> Positive(TensorShape shape)
    {
        long n = shape.Length;
        var values = new float[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = (float)_rng.NextDouble() * 0.01f;
        }

        return new PairedTensor<float>(reference, candidate, shape, values);
    }

    private PairedTensor<float> Poison(TensorShape shape)
    {
        var values = new float[shape.Length];
        Array.Fill(values, float.NaN);
        return new PairedTensor<float>(reference, candidate, shape, values);
    }

    private PairedTensor<int> Ints(TensorShape shape, int below)
    {
        long n = shape.Length;
        var values = new int[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = _rng.Next(below);
        }

        return new PairedTensor<int>(reference, candidate, shape, values);
    }

    /// <summary>One tensor on both backends, uploaded with the same values.</summary>
    private sealed class PairedTensor<T> : IDisposable where T : unmanaged
    {
        private readonly ComputeBackend _reference, _candidate;
        private readonly DeviceBuffer _onReference, _onCandidate;

        public PairedTensor(ComputeBackend reference, ComputeBackend candidate, TensorShape shape, T[] values)
        {
            var type = ElementTypes.ForHostType<T>();
            _reference = reference;
            _candidate = candidate;
            _onReference = reference.Allocate(type, shape);
            _onCandidate = candidate.Allocate(type, shape);
            reference.Upload<T>(values, _onReference.Tensor);
            SetCandidate(values);
        }

        public DeviceTensor this[bool onReference] => onReference ? _onReference.Tensor : _onCandidate.Tensor;

        public T[] Download(bool fromReference)
        {
            var values = new T[_onReference.Length];
            (fromReference ? _reference : _candidate).Download(this[fromReference], values);
            return values;
        }

        /// <summary>Overwrites the candidate's copy only.</summary>
        public void SetCandidate(T[] values) => _candidate.Upload<T>(values, _onCandidate.Tensor);

        public void Dispose()
        {
            _onReference.Dispose();
            _onCandidate.Dispose();
        }
    }
}
