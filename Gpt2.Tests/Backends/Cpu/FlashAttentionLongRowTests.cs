using Gpt2.Backends;
using Gpt2.Backends.Cpu;

namespace Gpt2.Tests.Backends.Cpu;

public sealed class FlashAttentionLongRowTests
{
    [Test]
    public void RowsLongerThanTheStackScratchEqualStandardAttention()
    {
        // T = 4,100: the scores of a row go to a pooled heap array instead of the stack
        const int b = 1, t = 4100, c = 6, nh = 2;
        var rng = new Random(5);
        var qkv = TestData.RandomFloats(rng, b * t * 3 * c, 1.5f);
        using var backend = new CpuBackend(2);
        using var input = backend.Allocate(ElementType.Float32, [b, t, 3 * c]);
        using var standard = backend.Allocate(ElementType.Float32, [b, t, c]);
        using var flash = backend.Allocate(ElementType.Float32, [b, t, c]);
        using var att = backend.Allocate(ElementType.Float32, [b, nh, t, t]);
        using var lse = backend.Allocate(ElementType.Float32, [b, nh, t]);
        backend.Upload<float>(qkv, input.Tensor);
        backend.AttentionForward(input.Tensor, standard.Tensor, att.Tensor);
        backend.FlashAttentionForward(input.Tensor, flash.Tensor, lse.Tensor);
        var expected = new float[b * t * c];
        var actual = new float[b * t * c];
        backend.Download(standard.Tensor, expected);
        backend.Download(flash.Tensor, actual);
        Assert.That(actual.Zip(expected, (x, y) => Math.Abs(x - y)).Max(), Is.LessThan(3e-5f * expected.Max(Math.Abs)));
    }
}
