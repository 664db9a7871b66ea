using BenchmarkDotNet.Running;

namespace Gpt2.Benchmarks;

/// <summary>Runs the suites: <c>dotnet run -c Release --project Gpt2.Benchmarks -- --filter '*'</c>.</summary>
internal static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
