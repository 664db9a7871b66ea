using Gpt2.Tests.HuggingFace;
using Gpt2.Tests.IO;

namespace Gpt2.Tests.Samples;

/// <summary><c>gpt2 download</c>, <c>import</c> and <c>export</c>, and pretrained names as <c>-e</c>.</summary>
[NonParallelizable] // the download tests change the current directory and HF_ENDPOINT
public sealed class HuggingFaceCommandsTests : TempDirectoryTest
{
    private static string Fixture(string name, string file = "") =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "huggingface", name, file);

    [Test]
    public void ImportWritesLlmcsFile()
    {
        string output = Path.Combine(TempDir, "m.bin");
        var (code, stdout, stderr) = CliRunner.Run("import", Fixture("prefixed-bf16"), "-o", output);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("L=3 NH=2 C=8 V=130 (Vp 256) maxT=5, version 3"));
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(Fixture("prefixed-bf16", "expected.bin"))));
    }

    [Test]
    public void ExportThenImportRoundTrips()
    {
        string folder = Path.Combine(TempDir, "hf"), back = Path.Combine(TempDir, "back.bin");
        var export = CliRunner.Run("export", Fixture("hub-f32", "expected_bf16.bin"), "--hf", folder, "--bf16");
        Assert.That(export.Code, Is.EqualTo(0), export.Error);
        Assert.That(export.Output, Does.Contain("model.safetensors (BF16)"));
        var import = CliRunner.Run("import", folder, "-o", back, "--bf16");
        Assert.That(import.Code, Is.EqualTo(0), import.Error);
        Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(Fixture("hub-f32", "expected_bf16.bin"))));
    }

    [Test]
    public void BadInputExitsTwoAndWritesNothing()
    {
        string truncated = Path.Combine(TempDir, "in");
        Directory.CreateDirectory(truncated);
        File.Copy(Fixture("hub-f32", "config.json"), Path.Combine(truncated, "config.json"));
        var bytes = File.ReadAllBytes(Fixture("hub-f32", "model.safetensors"));
        File.WriteAllBytes(Path.Combine(truncated, "model.safetensors"), bytes[..(bytes.Length - 100)]);
        string output = Path.Combine(TempDir, "m.bin");

        var cases = new (string[] Args, string Message)[]
        {
            (["import", truncated, "-o", output], "past the"),
            (["import", Path.Combine(TempDir, "absent"), "-o", output], "not found"),
            (["import", Fixture("hub-f32"), "-o", ""], "--output"),
            (["import", Fixture("hub-f32"), "-o", TempDir], "a folder"),
            (["export", Path.Combine(TempDir, "absent.bin"), "--hf", Path.Combine(TempDir, "hf")], "not found"),
            (["export", Fixture("hub-f32", "config.json"), "--hf", Path.Combine(TempDir, "hf")], "truncated llm.c model file header"),
            (["download", "gpt3"], "gpt3"),
        };
        foreach (var (args, message) in cases)
        {
            var (code, _, stderr) = CliRunner.Run(args);
            Assert.That(code, Is.EqualTo(2), string.Join(' ', args));
            Assert.That(stderr, Does.Contain(message), string.Join(' ', args));
        }

        Assert.That(Directory.GetFiles(TempDir), Is.Empty);
        Assert.That(Directory.GetDirectories(TempDir), Is.EqualTo(new[] { truncated }));
    }

    private static T InFolder<T>(string folder, Uri? endpoint, Func<T> body)
    {
        string before = Environment.CurrentDirectory;
        string? hub = Environment.GetEnvironmentVariable("HF_ENDPOINT");
        try
        {
            Environment.CurrentDirectory = folder;
            Environment.SetEnvironmentVariable("HF_ENDPOINT", endpoint?.AbsoluteUri);
            return body();
        }
        finally
        {
            Environment.CurrentDirectory = before;
            Environment.SetEnvironmentVariable("HF_ENDPOINT", hub);
        }
    }

    [Test]
    public void DownloadFetchesFromHfEndpointIntoTheDataFolder()
    {
        using var server = PretrainedGpt2Tests.HubWithFixture();
        var (code, stdout, stderr) = InFolder(TempDir, server.Endpoint, () => CliRunner.Run("download", "gpt2"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("wrote data/models/gpt2_124M.bin").And.Contain("100%"));
        Assert.That(File.ReadAllBytes(Path.Combine(TempDir, "data", "models", "gpt2_124M.bin")), Is.EqualTo(File.ReadAllBytes(PretrainedGpt2Tests.Expected("expected.bin"))));

        // -e gpt2 now resolves to that file, without the network
        var source = InFolder(TempDir, new Uri("http://127.0.0.1:9/"), () => Gpt2.Samples.Cli.ModelSource.Resolve("gpt2", 4, TextWriter.Null));
        Assert.That(source.IsFile, Is.True);
        Assert.That(source.Config.ChannelCount, Is.EqualTo(12));
    }

    [Test]
    public void AFailedDownloadExitsThreeAndSaysHowToImport()
    {
        Uri closed;
        using (var server = new LoopbackHubServer())
        {
            closed = server.Endpoint;
        }

        var (code, _, stderr) = InFolder(TempDir, closed, () => CliRunner.Run("download", "gpt2-medium", "--bf16"));
        Assert.That(code, Is.EqualTo(3));
        Assert.That(stderr, Does.Contain("openai-community/gpt2-medium").And.Contain("gpt2 import FOLDER -o data/models/gpt2_350M_bf16.bin --bf16"));
        Assert.That(Directory.Exists(Path.Combine(TempDir, "data", "models", "gpt2_350M_bf16.bin")), Is.False);

        var train = InFolder(TempDir, closed, () => CliRunner.Run("train", "-e", "gpt2", "-x", "1"));
        Assert.That(train.Code, Is.EqualTo(3), "-e gpt2 downloads first, and says so when it cannot");
        Assert.That(train.Error, Does.Contain("gpt2 import FOLDER -o data/models/gpt2_124M.bin"));
    }
}
