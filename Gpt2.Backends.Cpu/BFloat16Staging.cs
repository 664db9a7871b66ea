using System.Runtime.InteropServices;
using Gpt2.Formats;

namespace Gpt2.Backends.Cpu;

/// <summary>
/// bf16 storage for the fp32 kernels: each bf16 tensor an op touches is widened (exactly) into fp32 scratch before the
/// op, and every one is narrowed back with round-to-nearest-even after it. A tensor the op only reads comes back bit
/// for bit, so the kernels need not say which arguments they write. This is llm.c's bf16 arithmetic at the
/// granularity of whole ops: fp32 math inside, each output rounded once to bf16. Every op narrows in a finally
/// block, so a failed op leaves nothing staged for the next.
/// </summary>
internal sealed unsafe class BFloat16Staging(CpuParallel parallel) : IDisposable
{
    private const int Chunk = 1 << 16;
    private readonly List<(nint Storage, nint Wide, long Length)> _staged = [];

    /// <summary>The fp32 view of a bf16 tensor, widened once per op even when it is passed twice.</summary>
    public float* Widen(ushort* storage, long length)
    {
        foreach (var s in _staged)
        {
            if (s.Storage == (nint)storage && s.Length == length)
            {
                return (float*)s.Wide;
            }
        }

        float* wide = (float*)NativeMemory.Alloc((nuint)Math.Max(1, length), sizeof(float));
        parallel.ForRanges(length, Chunk, (start, end) =>
            BFloat16.ToSingle(new ReadOnlySpan<ushort>(storage + start, (int)(end - start)), new Span<float>(wide + start, (int)(end - start))));
        _staged.Add(((nint)storage, (nint)wide, length));
        return wide;
    }

    /// <summary>Rounds every staged tensor back into its bf16 storage and frees the scratch.</summary>
    public void Narrow()
    {
        foreach (var (storage, wide, length) in _staged)
        {
            parallel.ForRanges(length, Chunk, (start, end) =>
                BFloat16.FromSingle(new ReadOnlySpan<float>((float*)wide + start, (int)(end - start)), new Span<ushort>((ushort*)storage + start, (int)(end - start))));
            NativeMemory.Free((void*)wide);
        }

        _staged.Clear();
    }

    public void Dispose()
    {
        foreach (var s in _staged)
        {
            NativeMemory.Free((void*)s.Wide);
        }

        _staged.Clear();
    }
}
