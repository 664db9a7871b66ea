using System.Globalization;

namespace Gpt2.Samples.Train;

/// <summary>
/// The time left, from a moving average of step times (an exponential average over about 20 steps, so one slow step
/// — an evaluation, a checkpoint — does not make the estimate jump), printed as hours:minutes:seconds without
/// wrapping at 24 hours.
/// </summary>
internal sealed class StepTimeAverage
{
    private const double Weight = 0.1;
    private double _milliseconds = double.NaN;

    public void Add(double milliseconds) =>
        _milliseconds = double.IsNaN(_milliseconds) ? milliseconds : _milliseconds + Weight * (milliseconds - _milliseconds);

    public string Remaining(int steps)
    {
        if (double.IsNaN(_milliseconds))
        {
            return "?";
        }

        long seconds = (long)Math.Round(_milliseconds * Math.Max(0, steps) / 1000);
        return string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}:{seconds / 60 % 60:D2}:{seconds % 60:D2}");
    }
}
