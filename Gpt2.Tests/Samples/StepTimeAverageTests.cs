using Gpt2.Samples.Train;

namespace Gpt2.Tests.Samples;

public sealed class StepTimeAverageTests
{
    [Test]
    public void OneSlowStepMovesTheEstimateALittleAndHoursDoNotWrap()
    {
        var eta = new StepTimeAverage();
        Assert.That(eta.Remaining(10), Is.EqualTo("?"));
        for (int i = 0; i < 50; i++)
        {
            eta.Add(1000);
        }

        Assert.That(eta.Remaining(90_000), Is.EqualTo("25:00:00"), "90,000 steps of 1 s: 25 hours, not 01:00:00");
        eta.Add(11_000); // a checkpoint step
        Assert.That(eta.Remaining(3600), Is.EqualTo("2:00:00"), "the average moves by a tenth of the outlier (1 s -> 2 s)");
    }
}
