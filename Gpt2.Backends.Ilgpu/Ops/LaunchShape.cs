using ILGPU;
using ILGPU.Runtime;

namespace Gpt2.Backends.Ilgpu.Ops;

/// <summary>Group sizes for one accelerator, read from the device instead of assuming 32-wide warps.</summary>
internal sealed class LaunchShape
{
    public LaunchShape(Accelerator accelerator)
    {
        WarpSize = accelerator.WarpSize;
        int max = accelerator.MaxNumThreadsPerGroup;
        RowGroupSize = Math.Min(256, max) / WarpSize * WarpSize;
        WarpsPerGroup = RowGroupSize / WarpSize;
        // GEMM: square groups of TileThreads² threads, each computing a 4×4 block of outputs
        TileThreads = (int)Math.Sqrt(Math.Min(256, max));
        if (RowGroupSize / WarpSize > Reduce.MaxWarps || WarpSize < 1)
        {
            throw new NotSupportedException($"Unsupported accelerator geometry: warp {WarpSize}, group {max}.");
        }
    }

    /// <summary>Threads of a warp.</summary>
    public int WarpSize { get; }

    /// <summary>Threads of a group that reduces one row (softmax) or holds one warp per row (LayerNorm).</summary>
    public int RowGroupSize { get; }

    /// <summary>Warps in a row group.</summary>
    public int WarpsPerGroup { get; }

    /// <summary>Side of the square GEMM thread group.</summary>
    public int TileThreads { get; }

    /// <summary>A launch with one warp per row.</summary>
    public KernelConfig WarpPerRow(long rows) =>
        new(Checked.Size((rows + WarpsPerGroup - 1) / WarpsPerGroup), RowGroupSize);

    /// <summary>A launch with one group per row.</summary>
    public KernelConfig GroupPerRow(long rows) => new(Checked.Size(rows), RowGroupSize);
}
