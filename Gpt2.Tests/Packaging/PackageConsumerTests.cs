using System.IO.Compression;
using System.Reflection.Metadata;
using Gpt2.Formats;

namespace Gpt2.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: a fresh console app takes Gpt2.Core and Gpt2.Backends.Cpu from the packed folder
/// only (NuGet source mapping) and trains through the public API; the tool installs and runs. The packages come from
/// <c>GPT2_PACKAGES</c> (CI packs them first) or are packed here into a temporary folder.
/// </summary>
[NonParallelizable]
public sealed class PackageConsumerTests : TempDirectoryTest
{
    private string _packages = null!;
    private string? _packedHere;
    private string _version = null!;

    [OneTimeSetUp]
    public void FindOrPackThePackages()
    {
        string? given = Environment.GetEnvironmentVariable("GPT2_PACKAGES");
        if (!string.IsNullOrEmpty(given))
        {
            _packages = Path.GetFullPath(given);
        }
        else
        {
            _packedHere = TestData.NewTempDirectory();
            _packages = _packedHere;
            string root = TestData.RepositoryRoot;
            foreach (string project in new[] { "Gpt2.Core", "Gpt2.Backends.Cpu", "Gpt2.Backends.Ilgpu", "Gpt2.Samples" })
            {
                DotnetCli.Check(root, "dotnet", ["pack", Path.Combine(root, project, project + ".csproj"), "-c", "Release", "-o", _packages]);
            }
        }

        string core = Directory.GetFiles(_packages, "Gpt2.Core.*.nupkg").SingleOrDefault()
            ?? throw new AssertionException($"no Gpt2.Core package in {_packages}");
        _version = Path.GetFileNameWithoutExtension(core)["Gpt2.Core.".Length..];
        foreach (string id in new[] { "Gpt2.Backends.Cpu", "Gpt2.Backends.Ilgpu", "Gpt2.Tool" })
        {
            Assert.That(File.Exists(Path.Combine(_packages, $"{id}.{_version}.nupkg")), Is.True, $"{id} {_version} packed");
            Assert.That(File.Exists(Path.Combine(_packages, $"{id}.{_version}.snupkg")), Is.True, $"{id} {_version} symbols packed");
        }
    }

    [OneTimeTearDown]
    public void DeletePackedHere() => TestData.Delete(_packedHere);

    /// <summary>
    /// Every C# block of README.md, docs/library.md and the package readmes (docs/packages), each a whole program as written,
    /// compiled against the packed packages: each block becomes an async local function (its usings hoisted), and
    /// <c>#line</c> points a compile error at the document and block. Compiled, not run: some train for minutes, use
    /// a GPU, MPI or the network.
    /// </summary>
    [Test]
    public void EveryCSharpBlockInTheDocsCompilesAgainstThePackages()
    {
        string app = Path.Combine(TempDir, "docs");
        var env = ToolEnvironment();
        DotnetCli.Check(TempDir, "dotnet", ["new", "console", "-n", "Docs", "-o", app, "--framework", "net10.0"], env);
        WriteNuGetConfig(app);
        foreach (string id in new[] { "Gpt2.Core", "Gpt2.Backends.Cpu", "Gpt2.Backends.Ilgpu" })
        {
            DotnetCli.Check(app, "dotnet", ["add", "package", id, "--version", _version], env);
        }

        var usings = new SortedSet<string>(StringComparer.Ordinal);
        var functions = new System.Text.StringBuilder();
        int blocks = 0;
        foreach (string doc in new[] { "README.md", "docs/library.md", "docs/packages/Gpt2.Core.md", "docs/packages/Gpt2.Backends.Cpu.md", "docs/packages/Gpt2.Backends.Ilgpu.md" })
        {
            var lines = File.ReadAllLines(Path.Combine(TestData.RepositoryRoot, doc));
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```csharp")
                {
                    continue;
                }

                int start = i + 1, end = Array.FindIndex(lines, start, l => l.Trim() == "```");
                functions.AppendLine($"static async Task Block{++blocks}()").AppendLine("{");
                for (int j = start; j < end; j++)
                {
                    string line = lines[j];
                    bool isUsing = line.StartsWith("using ", StringComparison.Ordinal) && !line.StartsWith("using var ", StringComparison.Ordinal)
                        && !line.Contains('(', StringComparison.Ordinal) && !line.Contains('=', StringComparison.Ordinal);
                    if (isUsing)
                    {
                        usings.Add(line.Trim());
                        functions.AppendLine();
                    }
                    else
                    {
                        functions.AppendLine($"#line {j + 1} \"{doc}\"").AppendLine(line);
                    }
                }

                functions.AppendLine("#line default").AppendLine("await Task.CompletedTask;").AppendLine("}");
                i = end;
            }
        }

        Assert.That(blocks, Is.GreaterThanOrEqualTo(9), "every block was found");
        File.WriteAllText(Path.Combine(app, "Program.cs"), string.Join("\n", usings) + "\n\nreturn 0;\n\n" + functions);
        string output = DotnetCli.Check(app, "dotnet", ["build", "-c", "Release", "-p:NoWarn=CS8321%3BCS1998"], env);
        Assert.That(output, Does.Contain("Build succeeded"));
    }

    /// <summary>
    /// Each package carries its own readme (titled with its id), the icon and the license; its symbol package's PDBs
    /// name sources by mapped paths (<c>/_/…</c>), never the machine's, and embed every source file.
    /// </summary>
    [TestCase("Gpt2.Core")]
    [TestCase("Gpt2.Backends.Cpu")]
    [TestCase("Gpt2.Backends.Ilgpu")]
    [TestCase("Gpt2.Tool")]
    public void EachPackageCarriesItsReadmeIconAndPathFreeSymbols(string id)
    {
        using (var package = ZipFile.OpenRead(Path.Combine(_packages, $"{id}.{_version}.nupkg")))
        {
            string Text(string name)
            {
                using var reader = new StreamReader(package.GetEntry(name)?.Open() ?? throw new AssertionException($"{id}: no {name}"));
                return reader.ReadToEnd();
            }

            Assert.That(Text("README.md"), Does.StartWith($"# {id}\n"), "the package's own readme");
            Assert.That(package.GetEntry("icon.png")?.Length, Is.GreaterThan(100));
            Assert.That(package.GetEntry("LICENSE"), Is.Not.Null);
            string nuspec = Text($"{id}.nuspec");
            Assert.That(nuspec, Does.Contain("<icon>icon.png</icon>").And.Contain("<readme>README.md</readme>"));
            Assert.That(nuspec, Does.Not.Contain(TestData.RepositoryRoot), "no local path (a clone's origin) in the metadata");
        }

        using var symbols = ZipFile.OpenRead(Path.Combine(_packages, $"{id}.{_version}.snupkg"));
        var pdbs = symbols.Entries.Where(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal)).ToList();
        Assert.That(pdbs, Is.Not.Empty);
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
        foreach (var entry in pdbs)
        {
            using var copy = new MemoryStream();
            using (var pdb = entry.Open())
            {
                pdb.CopyTo(copy);
            }

            copy.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(copy);
            var reader = provider.GetMetadataReader();
            var documents = reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)).ToList();
            Assert.That(documents, Is.Not.Empty);
            Assert.That(documents.Where(d => !d.StartsWith("/_/", StringComparison.Ordinal) && !d.Contains("/obj/", StringComparison.Ordinal)), Is.Empty,
                $"{entry.FullName}: sources are named by mapped paths");
            Assert.That(documents, Has.None.Contains(TestData.RepositoryRoot), $"{entry.FullName}: no local path");
            int embedded = reader.CustomDebugInformation.Count(h =>
            {
                var info = reader.GetCustomDebugInformation(h);
                return info.Parent.Kind == HandleKind.Document && reader.GetGuid(info.Kind) == embeddedSource;
            });
            Assert.That(embedded, Is.EqualTo(documents.Count), $"{entry.FullName}: every source is embedded");
        }
    }

    [Test]
    public void AFreshConsoleAppTrainsThroughThePackages()
    {
        string app = Path.Combine(TempDir, "app");
        var env = ToolEnvironment();
        DotnetCli.Check(TempDir, "dotnet", ["new", "console", "-n", "Consumer", "-o", app, "--framework", "net10.0"], env);
        WriteNuGetConfig(app);
        DotnetCli.Check(app, "dotnet", ["add", "package", "Gpt2.Core", "--version", _version], env);
        DotnetCli.Check(app, "dotnet", ["add", "package", "Gpt2.Backends.Cpu", "--version", _version], env);

        // the README's library example, compiled against the packages, plus a few lines that report the losses
        File.Copy(Path.Combine(TestData.RepositoryRoot, "Gpt2.Samples", "Embedding", "EmbeddingExample.cs"), Path.Combine(app, "EmbeddingExample.cs"));
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Globalization;
            using Gpt2.Samples.Embedding;

            var (initial, summary) = await EmbeddingExample.RunAsync(args[0], args[1], Console.Out);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"consumer: {initial} {summary.FinalValidationLoss} {summary.Step}"));
            return File.Exists(summary.Checkpoint) ? 0 : 3;
            """);
        string output = DotnetCli.Check(app, "dotnet", ["run", "-c", "Release", "--", Path.Combine(TempDir, "work"), TestData.TinyShakespeareText], env);

        string line = output.Split('\n').Single(l => l.StartsWith("consumer: ", StringComparison.Ordinal));
        var fields = line["consumer: ".Length..].Trim().Split(' ');
        float initial = float.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture);
        float final = float.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(40));
        Assert.That(initial, Is.GreaterThan(10.5f), "an untrained model is at about ln(50257)");
        Assert.That(final, Is.LessThan(initial - 2f), "40 steps take off more than 2 nats");
        string assets = File.ReadAllText(Path.Combine(app, "obj", "project.assets.json"));
        Assert.That(assets, Does.Contain($"\"Gpt2.Core/{_version}\"").And.Contain($"\"Gpt2.Backends.Cpu/{_version}\""));
        Assert.That(assets, Does.Not.Contain("\"ILGPU/"), "the CPU backend does not drag ILGPU in");
    }

    [Test]
    public void TheToolInstallsAndRuns()
    {
        string config = WriteNuGetConfig(TempDir);
        string tools = Path.Combine(TempDir, "tools");
        var env = ToolEnvironment();
        DotnetCli.Check(TempDir, "dotnet", ["tool", "install", "Gpt2.Tool", "--version", _version, "--tool-path", tools, "--configfile", config], env);

        string gpt2 = Path.Combine(tools, "gpt2");
        string help = DotnetCli.Check(TempDir, gpt2, ["--help"], env);
        Assert.That(help, Does.Contain("train").And.Contain("sample").And.Contain("verify").And.Contain("prepare"));
        string model = Path.Combine(TempDir, "model.bin");
        DotnetCli.Check(TempDir, gpt2, ["init", "-e", "L1H2C16", "-o", model], env);
        Assert.That(ModelFile.ReadHeader(model).Config, Is.EqualTo(Gpt2Config.FromDescriptor("L1H2C16")));
        var (code, output) = DotnetCli.Run(TempDir, gpt2, ["train", "--batch", "0"], env);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--batch"));
    }

    /// <summary>NuGet settings for the consumer: Gpt2.* from the packed folder only, everything else from nuget.org.</summary>
    private string WriteNuGetConfig(string directory)
    {
        string global = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(directory, "nuget.config");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="gpt2-packed" value="{_packages}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="gpt2-packed"><package pattern="Gpt2.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
              <fallbackPackageFolders>
                <add key="machine" value="{global}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        return path;
    }

    /// <summary>A packages folder of the test's own, so a package packed earlier with the same version is never reused.</summary>
    private Dictionary<string, string> ToolEnvironment() => new()
    {
        ["NUGET_PACKAGES"] = Path.Combine(TempDir, "nuget-packages"),
        ["DOTNET_ROOT"] = Path.GetDirectoryName(ResolveDotnet())!,
    };

    /// <summary>The dotnet on PATH with its links followed: the tool's launcher finds the runtime through DOTNET_ROOT.</summary>
    private static string ResolveDotnet() =>
        TestData.FindOnPath("dotnet") is { } dotnet ? new FileInfo(dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet : "/usr/share/dotnet/dotnet";
}
