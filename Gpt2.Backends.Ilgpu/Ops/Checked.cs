namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Launch sizes: ILGPU's 1-D index is an int.</summary>
internal static class Checked
{
    public static int Size(long n)
    {
        if (n > int.MaxValue)
        {
            throw new NotSupportedException($"A launch of {n} threads exceeds the ILGPU backend's 2^31 - 1 limit; use a smaller batch.");
        }

        return (int)n;
    }
}
