namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>tanh for kernels, computed from exp: MathF.Tanh compiles to PTX's tanh.approx.f32.</summary>
internal static class AccurateTanh
{
    /// <summary>
    /// tanh from exp, accurate to a few ulp: MathF.Tanh compiles to PTX's tanh.approx.f32, whose ~2⁻¹¹
    /// relative error would show in the logits.
    /// </summary>
    public static float Of(float x)
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
