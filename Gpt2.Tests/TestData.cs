namespace Gpt2.Tests;

/// <summary>Paths of the committed fixtures and a scratch folder per test.</summary>
internal static class TestData
{
    public static readonly string[] Fixtures = ["tiny", "hot", "vp-eq-v", "t1", "bf16", "wide"];

    /// <summary>The shared TinyShakespeare text, beside the project (never committed into it).</summary>
    public static string TinyShakespeareText => Path.Combine(FindAbove(Path.Combine("shared", "data", "tinyshakespeare", "input.txt")),
        "shared", "data", "tinyshakespeare", "input.txt");

    private static (ushort[] Val, ushort[] Train)? _tinyShakespeareTokens;

    /// <summary>TinyShakespeare tokenized as llm.c does (32,768 validation and 305,260 training tokens), once per test run.</summary>
    public static (ushort[] Val, ushort[] Train) TinyShakespeareTokens =>
        _tinyShakespeareTokens ??= Gpt2.Data.TinyShakespeare.Tokenize(File.ReadAllText(TinyShakespeareText), Gpt2.Text.Gpt2Tokenizer.Instance);

    /// <summary>The repository's root: the folder above the test directory that holds Gpt2.slnx.</summary>
    public static string RepositoryRoot => FindAbove("Gpt2.slnx");

    /// <summary>The first file named <paramref name="name"/> in a folder of PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    /// <summary>The nearest folder at or above the test directory that holds <paramref name="relativePath"/>.</summary>
    private static string FindAbove(string relativePath)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, relativePath)))
            {
                return dir.FullName;
            }
        }

        Assert.Fail($"{relativePath} not found above the test directory");
        return "";
    }

    public static string Fixture(string name, string file) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name, file);

    /// <summary>A fresh empty folder, removed by the caller's TearDown through <see cref="Delete"/>.</summary>
    public static string NewTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "gpt2-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Delete(string? dir)
    {
        if (dir is not null && Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static float[] RandomFloats(Random rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        }

        return a;
    }
}
