using Gpt2.Backends;

namespace Gpt2.Samples.Verify;

/// <summary>
/// Every op of a backend against the CPU backend on the same random inputs: outputs poisoned with NaN before each
/// run, accumulated gradients pre-filled with random values, and backward ops fed the reference's forward results so
/// each op is judged alone. Errors are relative to the reference's largest magnitude, with a tolerance per op.
/// </summary>
internal sealed class OpCheck(IComputeBackend reference, IComputeBackend candidate, int seed)
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
        int rows = s.B * s.T, c = s.C;
        string at = $" {s.Name}";

        using (var tokens = Ints(rows, s.V))
        using (var wte = Floats((long)s.Vp * c))
        using (var wpe = Floats((long)s.MaxT * c))
        using (var output = Poison((long)rows * c))
        {
            Both((be, r) => be.EncoderForward(tokens[r], wte[r], wpe[r], output[r], s.B, s.T, c));
            Compare("encoder forward" + at, output, tol.Elementwise);
            using var dOut = Floats((long)rows * c);
            Both((be, r) => be.EncoderBackward(dOut[r], tokens[r], wte[r], wpe[r], s.B, s.T, c));
            Compare("encoder backward dwte" + at, wte, tol.Reduction);
            Compare("encoder backward dwpe" + at, wpe, tol.Reduction);
        }

        using (var input = Floats((long)rows * c, 2f))
        using (var weight = Floats(c))
        using (var bias = Floats(c))
        using (var output = Poison((long)rows * c))
        using (var mean = Poison(rows))
        using (var rstd = Poison(rows))
        {
            Both((be, r) => be.LayerNormForward(input[r], weight[r], bias[r], output[r], mean[r], rstd[r], rows, c));
            Compare("layernorm forward" + at, output, tol.Reduction);
            Compare("layernorm mean" + at, mean, tol.Reduction);
            Compare("layernorm 1/std" + at, rstd, tol.Reduction);
            using var dOut = Floats((long)rows * c);
            using var dIn = Floats((long)rows * c);
            using var dW = Floats(c);
            using var dB = Floats(c);
            SyncFromReference(mean, rstd);
            Both((be, r) => be.LayerNormBackward(dOut[r], input[r], weight[r], mean[r], rstd[r], dIn[r], dW[r], dB[r], rows, c));
            Compare("layernorm backward dinput" + at, dIn, tol.Reduction);
            Compare("layernorm backward dweight" + at, dW, tol.Reduction);
            Compare("layernorm backward dbias" + at, dB, tol.Reduction);
        }

        Matmul(s, rows, c, 4 * c, withBias: true, "matmul fc" + at, tol.Products);
        Matmul(s, rows, c, s.Vp, withBias: false, "matmul classifier" + at, tol.Products);

        long square = (long)s.B * s.NH * s.T * s.T;
        using (var qkv = Floats((long)rows * 3 * c))
        using (var output = Poison((long)rows * c))
        using (var att = Poison(square))
        {
            Both((be, r) => be.AttentionForward(qkv[r], output[r], att[r], s.B, s.T, c, s.NH));
            Compare("attention forward" + at, output, tol.Products);
            Compare("attention probabilities" + at, att, tol.Products);
            using var dOut = Floats((long)rows * c);
            using var dQkv = Floats((long)rows * 3 * c);
            SyncFromReference(att);
            Both((be, r) => be.AttentionBackward(dOut[r], qkv[r], att[r], dQkv[r], s.B, s.T, c, s.NH));
            Compare("attention backward dqkv" + at, dQkv, tol.Products);
            using var cache = Floats((long)s.T * 3 * c);
            using var decoded = Poison(c);
            Both((be, r) => be.AttentionDecode(cache[r], decoded[r], s.T - 1, c, s.NH));
            Compare("attention decode" + at, decoded, tol.Products);
        }

        long n = (long)rows * 4 * c;
        using (var input = Floats(n, 3f))
        using (var other = Floats(n))
        using (var output = Poison(n))
        using (var dOut = Floats(n))
        using (var dIn = Floats(n))
        {
            Both((be, r) => be.GeluForward(input[r], output[r], n));
            Compare("gelu forward" + at, output, tol.Elementwise);
            Both((be, r) => be.GeluBackward(dOut[r], input[r], dIn[r], n));
            Compare("gelu backward" + at, dIn, tol.Elementwise);
            Both((be, r) => be.ResidualForward(input[r], other[r], output[r], n));
            Compare("residual forward" + at, output, tol.Elementwise);
            Both((be, r) => be.ResidualBackward(dOut[r], input[r], other[r], n));
            Compare("residual backward da" + at, input, tol.Elementwise);
            Compare("residual backward db" + at, other, tol.Elementwise);
            Both((be, r) => be.Fill(output[r], 0.5f));
            Compare("fill" + at, output, 0);
            using var sum = Poison(1);
            Both((be, r) => be.SumOfSquares(other[r], sum[r]));
            Compare("sum of squares" + at, sum, tol.Reduction);
        }

        using (var logits = Floats((long)rows * s.Vp, 4f))
        using (var targets = Ints(rows, s.V))
        using (var probabilities = Poison((long)rows * s.Vp))
        using (var losses = Poison(rows))
        using (var dLogits = Floats((long)rows * s.Vp))
        {
            Both((be, r) => be.SoftmaxCrossEntropyForward(logits[r], targets[r], probabilities[r], losses[r], rows, s.V, s.Vp));
            Compare("softmax probabilities" + at, probabilities, tol.Reduction);
            Compare("cross-entropy losses" + at, losses, tol.Reduction);
            SyncFromReference(probabilities);
            Both((be, r) => be.SoftmaxCrossEntropyBackward(probabilities[r], targets[r], dLogits[r], 1f / rows, rows, s.V, s.Vp));
            Compare("softmax cross-entropy backward" + at, dLogits, tol.Elementwise);
        }

        long p = 12L * c * c + 5;
        using (var gradients = Floats(p))
        using (var parameters = Floats(p))
        using (var m = Floats(p, 0.1f))
        using (var v = Positive(p))
        {
            var step = new AdamWStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f);
            Both((be, r) => be.AdamWUpdate(gradients[r], parameters[r], m[r], v[r], step));
            Compare("adamw parameters" + at, parameters, tol.Elementwise);
            Compare("adamw m" + at, m, tol.Elementwise);
            Compare("adamw v" + at, v, tol.Elementwise);
        }
    }

    private void Matmul(Shape s, int rows, int c, int oc, bool withBias, string name, double tolerance)
    {
        using var input = Floats((long)rows * c);
        using var weight = Floats((long)oc * c, 0.1f);
        using var bias = withBias ? Floats(oc) : null;
        using var output = Poison((long)rows * oc);
        Both((be, r) => be.MatmulForward(input[r], weight[r], bias?[r], output[r], rows, c, oc));
        Compare(name + " forward", output, tolerance);
        using var dOut = Floats((long)rows * oc);
        using var dIn = Floats((long)rows * c);
        using var dW = Floats((long)oc * c);
        using var dB = withBias ? Floats(oc) : null;
        Both((be, r) => be.MatmulBackward(dOut[r], input[r], weight[r], dIn[r], dW[r], dB?[r], rows, c, oc));
        Compare(name + " backward dinput", dIn, tolerance);
        Compare(name + " backward dweight", dW, tolerance);
        if (dB is not null)
        {
            Compare(name + " backward dbias", dB, tolerance);
        }
    }

    /// <summary>Runs an op on the reference (r = true) and on the candidate (r = false).</summary>
    private void Both(Action<IComputeBackend, bool> op)
    {
        op(reference, true);
        op(candidate, false);
    }

    private void Compare(string name, Tensor<float> tensor, double tolerance)
    {
        var expected = tensor.Download(true);
        var actual = tensor.Download(false);
        var (maxAbs, refMax) = Comparison.Measure(actual, expected);
        double relative = refMax > 0 ? maxAbs / refMax : maxAbs;
        _results.Add(new Comparison(name, maxAbs, refMax, relative <= tolerance, $"tolerance {tolerance:E0}"));
    }

    /// <summary>Gives the candidate the reference's values of forward results that a backward reads.</summary>
    private static void SyncFromReference(params Tensor<float>[] tensors)
    {
        foreach (var t in tensors)
        {
            t.SetCandidate(t.Download(true));
        }
    }

    private Tensor<float> Floats(long n, float scale = 1f)
    {
        var values = new float[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = (float)(_rng.NextDouble() * 2 - 1) * scale;
        }

        return new Tensor<float>(reference, candidate, values);
    }

    private Tensor<float> Positive(long n)
    {
        var values = new float[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = (float)_rng.NextDouble() * 0.01f;
        }

        return new Tensor<float>(reference, candidate, values);
    }

    private Tensor<float> Poison(long n)
    {
        var values = new float[n];
        Array.Fill(values, float.NaN);
        return new Tensor<float>(reference, candidate, values);
    }

    private Tensor<int> Ints(long n, int below)
    {
        var values = new int[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = _rng.Next(below);
        }

        return new Tensor<int>(reference, candidate, values);
    }

    /// <summary>One tensor on both backends, uploaded with the same values.</summary>
    private sealed class Tensor<T> : IDisposable where T : unmanaged
    {
        private readonly IComputeBackend _reference, _candidate;
        private readonly DeviceBuffer<T> _onReference, _onCandidate;

        public Tensor(IComputeBackend reference, IComputeBackend candidate, T[] values)
        {
            _reference = reference;
            _candidate = candidate;
            _onReference = reference.Allocate<T>(values.Length);
            _onCandidate = candidate.Allocate<T>(values.Length);
            reference.Upload<T>(values, _onReference.View);
            SetCandidate(values);
        }

        public DeviceView<T> this[bool onReference] => onReference ? _onReference.View : _onCandidate.View;

        public T[] Download(bool fromReference)
        {
            var values = new T[_onReference.Length];
            (fromReference ? _reference : _candidate).Download(this[fromReference], values);
            return values;
        }

        /// <summary>Overwrites the candidate's copy only.</summary>
        public void SetCandidate(T[] values) => _candidate.Upload<T>(values, _onCandidate.View);

        public void Dispose()
        {
            _onReference.Dispose();
            _onCandidate.Dispose();
        }
    }
}
