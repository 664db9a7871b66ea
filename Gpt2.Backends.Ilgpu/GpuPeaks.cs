namespace Gpt2.Backends.Ilgpu;

/// <summary>
/// Dense peak TFLOP/s of NVIDIA GPUs from their data sheets (sparsity not counted): fp32 on CUDA cores, TF32 and
/// bf16 on tensor cores. The denominator of MFU; a GPU not listed has no MFU rather than a guessed one.
/// </summary>
internal static class GpuPeaks
{
    /// <summary>Name fragments, most specific first, and their peaks (fp32, TF32, bf16) in TFLOP/s.</summary>
    private static readonly (string Name, double Fp32, double Tf32, double BFloat16)[] Table =
    [
        ("H200 NVL", 60, 417.5, 835),
        ("H200", 66.9, 494.7, 989.4),
        ("H100 PCIe", 51.2, 378, 756),
        ("H100 NVL", 60, 417.5, 835),
        ("H100", 66.9, 494.7, 989.4), // SXM5, named "H100 80GB HBM3"
        ("A100", 19.5, 156, 312),
        ("L40S", 91.6, 183, 362),
        ("L40", 90.5, 90.5, 181),
        ("L4", 30.3, 60, 121),
        ("RTX 4090", 82.6, 82.6, 165.2),
        ("V100", 15.7, 15.7, 0), // no TF32 or bf16 tensor cores: cuBLAS runs TF32 requests in fp32
    ];

    /// <summary>The peak FLOP/s for a device name and matmul engine, with a description; null for an unlisted device.</summary>
    public static (double Flops, string Source)? Find(string deviceName, MatmulEngine engine)
    {
        foreach (var row in Table)
        {
            if (deviceName.Contains(row.Name, StringComparison.OrdinalIgnoreCase))
            {
                bool tf32 = engine == MatmulEngine.CuBlasTf32 && !row.Name.Contains("V100", StringComparison.Ordinal);
                return ((tf32 ? row.Tf32 : row.Fp32) * 1e12, $"{(tf32 ? "TF32 tensor cores" : "fp32 CUDA cores")}, dense, {row.Name}");
            }
        }

        return null;
    }
}
