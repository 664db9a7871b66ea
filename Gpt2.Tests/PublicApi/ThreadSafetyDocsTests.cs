using System.Reflection;
using System.Xml.Linq;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;

namespace Gpt2.Tests.PublicApi;

/// <summary>
/// Every public class, record and struct of the packages says in its docs whether it may be used from several threads
/// (exceptions and event arguments included: they say they are immutable). Static classes, enums, interfaces and
/// delegates have no instance state and are exempt.
/// </summary>
public sealed class ThreadSafetyDocsTests
{
    private static readonly Assembly[] Packages = [typeof(Gpt2Config).Assembly, typeof(CpuBackend).Assembly, typeof(IlgpuBackend).Assembly];

    [TestCaseSource(nameof(Packages))]
    public void EveryTypeWithInstancesStatesItsThreadSafety(Assembly assembly)
    {
        string xml = Path.ChangeExtension(assembly.Location, ".xml");
        var docs = XDocument.Load(xml).Descendants("member")
            .ToDictionary(m => (string)m.Attribute("name")!, m => m.Value);
        var silent = assembly.GetExportedTypes()
            .Where(t => !t.IsInterface && !t.IsEnum && !typeof(Delegate).IsAssignableFrom(t) && !(t.IsAbstract && t.IsSealed))
            .Where(t => !docs.TryGetValue("T:" + t.FullName!.Replace('+', '.'), out string? text) || !text.Contains("thread", StringComparison.OrdinalIgnoreCase))
            .Select(t => t.FullName)
            .Order()
            .ToList();
        Assert.That(string.Join("\n", silent), Is.Empty, "types whose summary or remarks do not say whether they are thread-safe");
    }
}
