namespace Gpt2.Tests;

/// <summary>Base for tests that write files: each test gets a fresh empty folder, removed afterwards.</summary>
public abstract class TempDirectoryTest
{
    /// <summary>The current test's folder.</summary>
    protected string TempDir { get; private set; } = null!;

    [SetUp]
    public void CreateTempDirectory() => TempDir = TestData.NewTempDirectory();

    [TearDown]
    public void DeleteTempDirectory() => TestData.Delete(TempDir);
}
