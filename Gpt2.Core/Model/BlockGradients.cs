using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The gradients one block's backward needs besides the residual stream's: one layer's worth, reused by every layer
/// (as llm.c's CUDA trainer), zeroed before each. The residual adds need none of their own: they pass the stream's
/// gradient unchanged to both addends.
/// </summary>
internal sealed class BlockGradients
{
    public BlockGradients(TensorAllocator allocator, int b, int t, int c, ElementType type)
    {
        Ln1 = allocator.New([b, t, c], type);
        Qkv = allocator.New([b, t, 3 * c], type);
        Atty = allocator.New([b, t, c], type);
        Ln2 = allocator.New([b, t, c], type);
        Fch = allocator.New([b, t, 4 * c], type);
        FchGelu = allocator.New([b, t, 4 * c], type);
    }

    /// <summary>d ln1 (B,T,C).</summary>
    public DeviceTensor Ln1 { get; }

    /// <summary>d qkv (B,T,3C).</summary>
    public DeviceTensor Qkv { get; }

    /// <summary>d atty (B,T,C).</summary>
    public DeviceTensor Atty { get; }

    /// <summary>d ln2 (B,T,C).</summary>
    public DeviceTensor Ln2 { get; }

    /// <summary>d fch (B,T,4C).</summary>
    public DeviceTensor Fch { get; }

    /// <summary>d fch_gelu (B,T,4C).</summary>
    public DeviceTensor FchGelu { get; }

    /// <summary>Zeroes every tensor: the backward ops accumulate.</summary>
    public void Zero(ComputeBackend backend)
    {
        backend.Fill(Ln1, 0f);
        backend.Fill(Qkv, 0f);
        backend.Fill(Atty, 0f);
        backend.Fill(Ln2, 0f);
        backend.Fill(Fch, 0f);
        backend.Fill(FchGelu, 0f);
    }
}
