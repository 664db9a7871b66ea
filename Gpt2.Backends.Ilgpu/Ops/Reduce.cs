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
    public static float GroupSum(float value, ArrayView<float> shared)
    {
        value = WarpSum(value);
        if (Warp.IsFirstLane)
        {
            shared[Warp.WarpIdx] = value;
        }

        Group.Barrier();
        float total = 0f;
        int warps = Group.DimX / Warp.WarpSize;
        for (int i = 0; i < warps; i++)
        {
            total += shared[i];
        }

        Group.Barrier(); // the caller may reuse shared memory
        return total;
    }

    /// <summary>Max over the whole group; <paramref name="shared"/> holds at least <see cref="MaxWarps"/> floats.</summary>
    public static float GroupMax(float value, ArrayView<float> shared)
    {
        value = WarpMax(value);
        if (Warp.IsFirstLane)
        {
            shared[Warp.WarpIdx] = value;
        }

        Group.Barrier();
        float max = float.NegativeInfinity;
        int warps = Group.DimX / Warp.WarpSize;
        for (int i = 0; i < warps; i++)
        {
            max = shared[i] > max ? shared[i] : max;
        }

        Group.Barrier();
        return max;
    }

    /// <summary>
    /// tanh from exp, accurate to a few ulp: MathF.Tanh compiles to PTX's tanh.approx.f32, whose ~2⁻¹¹
    /// relative error would show in the logits.
    /// </summary>
    public static float Tanh(float x)
    {
        float a = x < 0 ? -x : x;
        if (a > 15f)
        {
            return x < 0 ? -1f : 1f;
        }

        float t = a < 0.4f ? TanhSeries(a) : 1f - 2f / (MathF.Exp(2f * a) + 1f);
        return x < 0 ? -t : t;
    }

    // Taylor series to x^13 where 1 - 2/(e^2x + 1) would cancel; truncation below 2e-9 on [0, 0.4).
    private static float TanhSeries(float x)
    {
        float x2 = x * x;
        float p = -0.0035921280f; // Horner in x², from the x^13 coefficient down to x^3's 1/3
        p = p * x2 + 0.0088632355f;
        p = p * x2 - 0.0218694885f;
        p = p * x2 + 0.0539682540f;
        p = p * x2 - 0.1333333333f;
        p = p * x2 + 0.3333333333f;
        return x - x * x2 * p;
    }
}
