using System.Reflection;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using PublicApiGenerator;

namespace Gpt2.Tests.PublicApi;

/// <summary>
/// The public surface of each package, compared with a committed snapshot (<c>PublicApi/NAME.txt</c>): a change to the
/// API shows up as a failing test and a diff in review. After a deliberate change, run the tests with
/// <c>GPT2_ACCEPT_API=1</c> to rewrite the snapshots, and commit them. (XML docs on every public member are enforced by
/// the compiler: documentation warnings are errors.)
/// </summary>
public sealed class PublicApiTests
{
    private static readonly Assembly[] Packages = [typeof(Gpt2Config).Assembly, typeof(CpuBackend).Assembly, typeof(IlgpuBackend).Assembly];

    [TestCaseSource(nameof(Packages))]
    public void PublicApiMatchesTheSnapshot(Assembly assembly)
    {
        string api = assembly.GeneratePublicApi(new ApiGeneratorOptions { ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Runtime.CompilerServices.InternalsVisibleToAttribute"] })
            .ReplaceLineEndings("\n");
        string name = assembly.GetName().Name!;
        string snapshot = Path.Combine(TestData.RepositoryRoot, "Gpt2.Tests", "PublicApi", name + ".txt");
        if (Environment.GetEnvironmentVariable("GPT2_ACCEPT_API") == "1")
        {
            File.WriteAllText(snapshot, api);
        }

        Assert.That(File.Exists(snapshot), Is.True, $"no snapshot {snapshot}; run the tests with GPT2_ACCEPT_API=1 to write it");
        string expected = File.ReadAllText(snapshot).ReplaceLineEndings("\n");
        if (api != expected)
        {
            string received = Path.ChangeExtension(snapshot, ".received.txt");
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of {name} changed; compare {snapshot} with {received}. If the change is deliberate, rerun with GPT2_ACCEPT_API=1 and commit the snapshot.\n" +
                FirstDifference(expected, api));
        }
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "<end>", al = i < a.Length ? a[i] : "<end>";
            if (el != al)
            {
                return $"line {i + 1}:\n  snapshot: {el}\n  now:      {al}";
            }
        }

        return "";
    }
}
