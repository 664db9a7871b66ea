using Gpt2.IO;

namespace Gpt2.Tests.IO;

public sealed class DownloaderTests : TempDirectoryTest
{
    private const string Repository = "someone/model";

    private static byte[] Content(int n)
    {
        var bytes = new byte[n];
        new Random(5).NextBytes(bytes);
        return bytes;
    }

    private static string Url(LoopbackHubServer server, string file) => new Uri(server.Endpoint, $"{Repository}/resolve/main/{file}").AbsoluteUri;

    [Test]
    public async Task ACutConnectionResumesWhereItStopped()
    {
        using var server = new LoopbackHubServer { Cut = (2, 100_000) };
        var content = Content(250_000);
        server.Add(Repository, "model.safetensors", content);
        string target = Path.Combine(TempDir, "model.safetensors");
        var reports = new List<ProgressReport>();
        await Downloader.DownloadAsync(Url(server, "model.safetensors"), target, new SynchronousProgress<ProgressReport>(reports.Add), default, retryDelay: TimeSpan.Zero);
        var lines = reports.Select(r => r.Text).ToList();

        Assert.That(File.ReadAllBytes(target), Is.EqualTo(content));
        Assert.That(server.Requests, Has.Some.EqualTo("GET /storage/someone/model/resolve/main/model.safetensors HTTP/1.1 from 100000"));
        Assert.That(server.Requests, Has.Some.EqualTo("GET /storage/someone/model/resolve/main/model.safetensors HTTP/1.1 from 200000"));
        Assert.That(lines, Has.Some.Contains("retrying"));
        Assert.That(lines, Has.Some.Contains("100%"), "the bar reaches the end");
        var counts = reports.Where(r => r.IsCount).ToList();
        Assert.That(counts.Select(r => (r.Item, r.Total, r.Unit)).Distinct(), Is.EqualTo(new[] { ("model.safetensors", (long?)250_000, "bytes") }));
        Assert.That(counts.Select(r => r.Completed), Is.Ordered, "a resumed download counts on from where it stopped");
        Assert.That(counts[^1].Completed, Is.EqualTo(250_000), "the last count is the whole file");
        Assert.That(Directory.GetFiles(TempDir), Is.EqualTo(new[] { target }), "no partial file is left");
    }

    [Test]
    public async Task APartialFileFromAnEarlierRunIsResumed()
    {
        using var server = new LoopbackHubServer();
        var content = Content(10_000);
        server.Add(Repository, "config.json", content);
        string target = Path.Combine(TempDir, "config.json");
        File.WriteAllBytes(target + ".part", content[..4_000]);
        await Downloader.DownloadAsync(Url(server, "config.json"), target, null, default);

        Assert.That(File.ReadAllBytes(target), Is.EqualTo(content));
        Assert.That(server.Requests, Has.Some.EndsWith("from 4000"));
    }

    [Test]
    public async Task APartialFileLongerThanTheFileIsStartedOver()
    {
        using var server = new LoopbackHubServer();
        var content = Content(3_000);
        server.Add(Repository, "config.json", content);
        string target = Path.Combine(TempDir, "config.json");
        File.WriteAllBytes(target + ".part", Content(5_000));
        await Downloader.DownloadAsync(Url(server, "config.json"), target, null, default);

        Assert.That(File.ReadAllBytes(target), Is.EqualTo(content));
        Assert.That(server.Requests, Has.None.Contains(" from "), "no range asked");
    }

    [Test]
    public void AWrongSizeIsRefusedAndNothingIsKept()
    {
        using var server = new LoopbackHubServer { AnnouncedSize = 10_001 };
        server.Add(Repository, "model.safetensors", Content(10_000));
        string target = Path.Combine(TempDir, "model.safetensors");
        var e = Assert.ThrowsAsync<DownloadException>(() =>
            Downloader.DownloadAsync(Url(server, "model.safetensors"), target, null, default, attempts: 1));
        Assert.That(e!.Message, Does.Contain("10000 bytes").And.Contain("10001"));
        Assert.That(Directory.GetFiles(TempDir), Is.Empty);
    }

    [Test]
    public void AWrongHashIsRefusedAndNothingIsKept()
    {
        using var server = new LoopbackHubServer { AnnouncedSha256 = new string('a', 64) };
        server.Add(Repository, "model.safetensors", Content(10_000));
        string target = Path.Combine(TempDir, "model.safetensors");
        var e = Assert.ThrowsAsync<DownloadException>(() =>
            Downloader.DownloadAsync(Url(server, "model.safetensors"), target, null, default, attempts: 1));
        Assert.That(e!.Message, Does.Contain("SHA-256"));
        Assert.That(Directory.GetFiles(TempDir), Is.Empty);
    }

    [Test]
    public void AMissingFileFailsAfterItsRetries()
    {
        using var server = new LoopbackHubServer();
        var e = Assert.ThrowsAsync<DownloadException>(() =>
            Downloader.DownloadAsync(Url(server, "absent.bin"), Path.Combine(TempDir, "absent.bin"), null, default, attempts: 2, retryDelay: TimeSpan.Zero));
        Assert.That(e!.Url, Does.EndWith("absent.bin"));
        Assert.That(e.Message, Does.Contain("404"));
    }
}
