namespace Gpt2.Training;

/// <summary>
/// llm.c's outlier detector: the z-score of each new value against a window of the last 128 (the new value
/// included), NaN until the window is full. The window is part of a checkpoint, so that a resumed run skips the same
/// steps.
/// </summary>
internal sealed class OutlierDetector
{
    public const int Window = 128;

    private readonly double[] _buffer = new double[Window];
    private int _count;
    private int _index;
    private double _sum;
    private double _sumOfSquares;

    /// <summary>Adds a value and returns its z-score (NaN while the window fills; 0 for a constant window).</summary>
    public double Update(double value)
    {
        if (_count < Window)
        {
            _buffer[_count++] = value;
            _sum += value;
            _sumOfSquares += value * value;
            return double.NaN;
        }

        double old = _buffer[_index];
        _sum -= old;
        _sumOfSquares -= old * old;
        _buffer[_index] = value;
        _sum += value;
        _sumOfSquares += value * value;
        _index = (_index + 1) % Window;
        double mean = _sum / Window;
        double std = Math.Sqrt(_sumOfSquares / Window - mean * mean);
        return std == 0 ? 0 : (value - mean) / std;
    }

    /// <summary>The whole state (window, position, running sums), for a checkpoint.</summary>
    public double[] Save() => [_count, _index, _sum, _sumOfSquares, .. _buffer];

    /// <summary>A detector in the state <see cref="Save"/> returned.</summary>
    public static OutlierDetector Restore(double[] state)
    {
        if (state.Length != 4 + Window || state[0] is < 0 or > Window || state[1] is < 0 or >= Window)
        {
            throw new ArgumentException("Not an outlier detector's state.", nameof(state));
        }

        var d = new OutlierDetector { _count = (int)state[0], _index = (int)state[1], _sum = state[2], _sumOfSquares = state[3] };
        state.AsSpan(4).CopyTo(d._buffer);
        return d;
    }
}
