using Gpt2.Backends.Cpu;
using Gpt2.Backends.Cpu.Ops;

namespace Gpt2.Tests.Backends.Cpu;

public sealed unsafe class TransposeTests
{
    [TestCase(37, 53)]
    [TestCase(8, 8)]
    [TestCase(64, 7)]
    [TestCase(1, 40)]
    public void TransposesEveryElement(int rows, int cols)
    {
        float[] source = Enumerable.Range(0, rows * cols).Select(i => (float)i).ToArray();
        float[] destination = Enumerable.Repeat(float.NaN, rows * cols).ToArray();
        fixed (float* s = source, d = destination)
        {
            Matmul.Transpose(new CpuParallel(2), s, d, rows, cols);
        }

        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                Assert.That(destination[c * rows + r], Is.EqualTo(source[r * cols + c]), $"({r}, {c})");
            }
        }
    }
}
