using Gpt2.Backends;
using Gpt2.Backends.Cpu;

namespace Gpt2.Tests.Backends.Cpu;

[TestFixture(1)]
[TestFixture(3)]
public sealed class CpuOpTests(int threads) : OpTests
{
    protected override ComputeBackend CreateBackend() => new CpuBackend(threads);
}
