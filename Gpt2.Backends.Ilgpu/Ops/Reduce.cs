using ILGPU;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>
/// Warp and group reductions used inside kernels. They read <see cref="Warp.WarpSize"/> and
/// <see cref="Group.DimX"/>, so they work for any warp size (32 on NVIDIA, 4 on our CPU accelerator).
/// Every lane gets the result, combined in a fixed order.
/// </summary>
internal static class Reduce
{
    /// <summary>Most warps a group can hold (1024 threads of warp 32, or 16 threads of warp 4).</summary>
    public const int MaxWarps = 64;

    public static float WarpSum(float value)
    {
        for (int offset = Warp.WarpSize / 2; offset > 0; offset /= 2)
        {
            value += Warp.ShuffleXor(value, offset);
        }

        return value;
    }

    public static float WarpMax(float value)
    {
        for (int offset = Warp.WarpSize / 2; offset > 0; offset /= 2)
        {
            float other = Warp.ShuffleXor(value, offset);
            value = other > value ? other : value;
        }

        return value;
    }

    /// <summary>Sum over the whole group; <paramref name="shared"/> holds at least <see cref="MaxWarps"/> floats.</summary>
    public static float GroupSum(float value, ArrayView<float> shared) => AcrossWarps(WarpSum(value), shared, max: false);

    /// <summary>Max over the whole group; <paramref name="shared"/> holds at least <see cref="MaxWarps"/> floats.</summary>
    public static float GroupMax(float value, ArrayView<float> shared) => AcrossWarps(WarpMax(value), shared, max: true);

    /// <summary>Combines the warps' results in warp order: each first lane writes its warp's, then every lane reads them all.</summary>
    private static float AcrossWarps(float warpResult, ArrayView<float> shared, bool max)
    {
        if (Warp.IsFirstLane)
        {
            shared[Warp.WarpIdx] = warpResult;
        }

        Group.Barrier();
        float result = max ? float.NegativeInfinity : 0f;
        int warps = Group.DimX / Warp.WarpSize;
        for (int i = 0; i < warps; i++)
        {
            float w = shared[i];
            result = max ? (w > result ? w : result) : result + w;
        }

        Group.Barrier(); // the caller may reuse shared memory
        return result;
    }
}
