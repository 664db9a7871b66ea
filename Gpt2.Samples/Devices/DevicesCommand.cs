using System.CommandLine;
using System.Runtime.Intrinsics;
using Gpt2.Backends.Ilgpu;

namespace Gpt2.Samples.Devices;

/// <summary><c>gpt2 devices</c>: what the backends can run on here.</summary>
internal static class DevicesCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("devices", "List the CPU and the ILGPU accelerators (CUDA GPUs) the backends can use.");
        command.SetAction(_ =>
        {
            output.WriteLine($"cpu: {Environment.ProcessorCount} logical cores, Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, " +
                $"Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}");
            foreach (string device in IlgpuDevices.Describe())
            {
                output.WriteLine(device);
            }

            return 0;
        });
        return command;
    }
}
