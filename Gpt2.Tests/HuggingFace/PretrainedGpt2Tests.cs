using Gpt2.Formats;
using Gpt2.HuggingFace;
using Gpt2.IO;
using Gpt2.Tests.IO;

namespace Gpt2.Tests.HuggingFace;

public sealed class PretrainedGpt2Tests : TempDirectoryTest
{
    /// <summary>A loopback hub serving the hub-f32 fixture as openai-community/gpt2.</summary>
    internal static LoopbackHubServer HubWithFixture()
    {
        var server = new LoopbackHubServer();
        string fixture = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "huggingface", "hub-f32");
        server.Add("openai-community/gpt2", "model.safetensors", File.ReadAllBytes(Path.Combine(fixture, "model.safetensors")));
        server.Add("openai-community/gpt2", "config.json", File.ReadAllBytes(Path.Combine(fixture, "config.json")));
        return server;
    }

    internal static string Expected(string file) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "huggingface", "hub-f32", file);

    [Test]
    public void NamesFollowLlmc()
    {
        Assert.That(PretrainedGpt2.Names, Is.EqualTo(new[] { "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl" }));
        Assert.That(PretrainedGpt2.FileName("gpt2"), Is.EqualTo("gpt2_124M.bin"));
        Assert.That(PretrainedGpt2.FileName("gpt2-xl", ModelFileFormat.BFloat16), Is.EqualTo("gpt2_1558M_bf16.bin"));
        Assert.That(PretrainedGpt2.Repository("gpt2-medium"), Is.EqualTo("openai-community/gpt2-medium"));
        Assert.Throws<ArgumentException>(() => PretrainedGpt2.FileName("gpt3"));
    }

    [Test]
    public async Task DownloadsConvertsAndReusesTheCache()
    {
        using var server = HubWithFixture();
        string path = await PretrainedGpt2.DownloadAsync("gpt2", TempDir, ModelFileFormat.BFloat16, endpoint: server.Endpoint);
        Assert.That(path, Is.EqualTo(Path.Combine(TempDir, "gpt2_124M_bf16.bin")));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(File.ReadAllBytes(Expected("expected_bf16.bin"))));
        Assert.That(File.Exists(Path.Combine(PretrainedGpt2.CacheFolder(TempDir, "gpt2"), "model.safetensors")));
        int requests = server.Requests.Count;

        string fp32 = await PretrainedGpt2.DownloadAsync("gpt2", TempDir, endpoint: server.Endpoint);
        Assert.That(File.ReadAllBytes(fp32), Is.EqualTo(File.ReadAllBytes(Expected("expected.bin"))));
        Assert.That(server.Requests, Has.Count.EqualTo(requests), "the second conversion downloads nothing");
    }

    [Test]
    public void AnUnreachableHubFailsWithTheUrl()
    {
        Uri closed;
        using (var server = new LoopbackHubServer())
        {
            closed = server.Endpoint;
        }

        var e = Assert.ThrowsAsync<DownloadException>(() => PretrainedGpt2.DownloadAsync("gpt2", TempDir, endpoint: closed));
        Assert.That(e!.Url, Does.EndWith("openai-community/gpt2/resolve/main/config.json"));
        Assert.That(File.Exists(Path.Combine(TempDir, "gpt2_124M.bin")), Is.False);
    }
}
