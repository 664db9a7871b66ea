using Gpt2.Backends;
using Gpt2.Backends.Ilgpu;

namespace Gpt2.Tests.Backends.Ilgpu;

/// <summary>Uploads and downloads of small (movable) managed arrays while another thread keeps compacting the heap.</summary>
public sealed class HostCopyTests
{
    [Test]
    public void CopiesOfMovableArraysSurviveCompactingCollections()
    {
        using var backend = new IlgpuBackend(new IlgpuBackendOptions { Device = IlgpuDeviceKind.Cpu });
        using var buffer = backend.Allocate(ElementType.Float32, [4096]);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true); // young arrays move when promoted
                Thread.Sleep(1);
            }
        });

        try
        {
            var garbage = new List<byte[]>();
            for (int i = 0; i < 1000; i++)
            {
                garbage.Add(new byte[1000 + i]); // small arrays around ours, so compaction moves them
                var sent = new float[4096];
                Array.Fill(sent, i);
                var received = new float[4096];
                backend.Upload<float>(sent, buffer.Tensor);
                backend.Download(buffer.Tensor, received);
                Assert.That(received, Is.EqualTo(sent), $"round {i}");
                if (garbage.Count > 20)
                {
                    garbage.RemoveAt(0);
                }
            }
        }
        finally
        {
            stop.Cancel();
            collector.Wait();
        }
    }
}
