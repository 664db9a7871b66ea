using Gpt2.Backends.Ilgpu;

namespace Gpt2.Tests.Backends.Ilgpu;

public sealed class GpuPeaksTests
{
    // device names as CUDA reports them; peaks are the data sheets' dense figures
    [TestCase("NVIDIA H200", MatmulEngine.CuBlasTf32, 494.7, "TF32 tensor cores, dense, H200")]
    [TestCase("NVIDIA H200", MatmulEngine.CuBlas, 66.9, "fp32 CUDA cores, dense, H200")]
    [TestCase("NVIDIA H200 NVL", MatmulEngine.CuBlasTf32, 417.5, "TF32 tensor cores, dense, H200 NVL")]
    [TestCase("NVIDIA H100 80GB HBM3", MatmulEngine.CuBlasTf32, 494.7, "TF32 tensor cores, dense, H100")]
    [TestCase("NVIDIA H100 PCIe", MatmulEngine.CuBlasTf32, 378, "TF32 tensor cores, dense, H100 PCIe")]
    [TestCase("NVIDIA A100-SXM4-80GB", MatmulEngine.Kernel, 19.5, "fp32 CUDA cores, dense, A100")]
    [TestCase("NVIDIA L40S", MatmulEngine.CuBlasTf32, 183, "TF32 tensor cores, dense, L40S")]
    [TestCase("NVIDIA L4", MatmulEngine.CuBlasTf32, 60, "TF32 tensor cores, dense, L4")]
    [TestCase("NVIDIA L40", MatmulEngine.CuBlas, 90.5, "fp32 CUDA cores, dense, L40")]
    [TestCase("NVIDIA GeForce RTX 4090", MatmulEngine.CuBlasTf32, 82.6, "TF32 tensor cores, dense, RTX 4090")]
    [TestCase("Tesla V100-SXM2-16GB", MatmulEngine.CuBlasTf32, 15.7, "fp32 CUDA cores, dense, V100")]
    public void KnownGpusHaveTheirDataSheetPeak(string device, MatmulEngine engine, double teraflops, string source)
    {
        var peak = GpuPeaks.Find(device, engine);
        Assert.That(peak, Is.Not.Null);
        Assert.That(peak!.Value.Flops, Is.EqualTo(teraflops * 1e12).Within(1e6));
        Assert.That(peak.Value.Source, Is.EqualTo(source));
    }

    [Test]
    public void AnUnlistedGpuAndTheCpuAcceleratorHaveNoPeak()
    {
        Assert.That(GpuPeaks.Find("NVIDIA GeForce GTX 1080", MatmulEngine.CuBlasTf32), Is.Null);
        using var cpu = new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
        Assert.That(cpu.PeakFlops, Is.Null);
        Assert.That(cpu.PeakFlopsSource, Is.Null);
    }
}
