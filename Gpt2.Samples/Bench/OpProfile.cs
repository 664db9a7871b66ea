using Gpt2.Backends;

namespace Gpt2.Samples.Bench;

/// <summary>
/// The per-op times of <c>gpt2 bench --profile</c>, collected as a backend's <see cref="IOpObserver"/>. The
/// classifier's matmuls (a weight of many more rows than columns: (Vp,C)) are counted apart from the blocks'.
/// </summary>
internal sealed class OpProfile : IOpObserver
{
    private readonly Dictionary<string, (int Calls, double Ms)> _times = [];
    private readonly Dictionary<string, double> _flops = [];

    public IReadOnlyDictionary<string, (int Calls, double Ms)> Times => _times;

    /// <summary>Floating-point operations per op name, for the ops whose count is known from their shapes.</summary>
    public IReadOnlyDictionary<string, double> Flops => _flops;

    public void Reset()
    {
        _times.Clear();
        _flops.Clear();
    }

    public void OnOpCompleted(string op, TensorShape operand, TimeSpan elapsed, double flops)
    {
        if (op.StartsWith("Matmul", StringComparison.Ordinal) && operand.Rank == 2 && operand[0] > 8 * operand[1])
        {
            op = op.Replace("Matmul", "Classifier", StringComparison.Ordinal);
        }

        double ms = elapsed.TotalMilliseconds;
        _times[op] = _times.TryGetValue(op, out var t) ? (t.Calls + 1, t.Ms + ms) : (1, ms);
        if (flops > 0)
        {
            _flops[op] = _flops.GetValueOrDefault(op) + flops;
        }
    }
}
