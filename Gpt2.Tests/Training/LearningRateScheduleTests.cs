using Gpt2.Training;

namespace Gpt2.Tests.Training;

public sealed class LearningRateScheduleTests
{
    [Test]
    public void CosineWarmsUpThenDecaysToTheFinalFraction()
    {
        var s = new LearningRateSchedule(ScheduleKind.Cosine, 1e-3f, 10, 110, 0.1f);
        Assert.That(s.At(0), Is.EqualTo(1e-4f).Within(1e-9f), "warmup step 1 of 10");
        Assert.That(s.At(9), Is.EqualTo(1e-3f).Within(1e-9f));
        Assert.That(s.At(10), Is.EqualTo(1e-3f).Within(1e-9f), "decay starts at the peak");
        Assert.That(s.At(60), Is.EqualTo(1e-4f + 0.5f * 9e-4f).Within(1e-8f), "halfway: cos(π/2) = 0");
        Assert.That(s.At(110), Is.EqualTo(1e-4f).Within(1e-9f));
    }

    [Test]
    public void LinearConstantAndWsd()
    {
        var linear = new LearningRateSchedule(ScheduleKind.Linear, 1f, 0, 100, 0f);
        Assert.That(linear.At(25), Is.EqualTo(0.75f).Within(1e-6f));
        Assert.That(new LearningRateSchedule(ScheduleKind.Constant, 0.5f, 10, 100, 0f).At(3), Is.EqualTo(0.5f), "constant ignores warmup, as llm.c");
        var wsd = new LearningRateSchedule(ScheduleKind.Wsd, 1f, 0, 100, 0f);
        Assert.That(wsd.At(79), Is.EqualTo(1f), "stable until 80%");
        Assert.That(wsd.At(85), Is.EqualTo(1f - MathF.Sqrt(0.25f)).Within(1e-6f), "1 - sqrt decay over the last 20%");
    }
}
