using System.CommandLine;
using System.Globalization;
using Gpt2.Backends.Cpu;
using Gpt2.Backends.Ilgpu;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Verify;

/// <summary>
/// <c>gpt2 verify-ops</c>: every op of a backend against the CPU backend on random inputs (see <see cref="OpCheck"/>),
/// on odd small shapes and, with <c>--size d12</c>, on GPT-2 124M's shapes at T=1024.
/// </summary>
internal static class VerifyOpsCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var backend = new Option<string>("--backend") { Description = "The backend to check against the CPU backend.", DefaultValueFactory = _ => "ilgpu" };
        backend.AcceptOnlyFromAmong(Cli.Backends.Names);
        var matmul = new Option<string>("--matmul") { Description = Cli.Backends.MatmulDescription, DefaultValueFactory = _ => "kernel" };
        matmul.AcceptOnlyFromAmong(Cli.Backends.MatmulNames);
        var size = new Option<string>("--size") { Description = "small (odd shapes), d12 (GPT-2 124M at B=4, T=1024) or all.", DefaultValueFactory = _ => "small" };
        size.AcceptOnlyFromAmong("small", "d12", "all");
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 1 };
        var command = new Command("verify-ops", "Run every op of a backend and of the CPU backend on the same random inputs and compare.")
        {
            backend, matmul, size, seed,
        };
        command.SetAction(parse => CommandGuard.Run(error, "verify-ops", () =>
        {
            using var candidate = Cli.Backends.Create(parse.GetValue(backend)!, null, parse.GetValue(matmul)!);
            using var reference = new CpuBackend();
            bool tf32 = candidate is IlgpuBackend { Matmul: MatmulEngine.CuBlasTf32 };
            var tolerance = new OpCheck.Tolerance(Elementwise: 1e-5, Reduction: 1e-5, Products: tf32 ? 5e-3 : 3e-5);
            output.WriteLine($"{Cli.Backends.Describe(candidate)} against {Cli.Backends.Describe(reference)}; tolerances (error / max|reference|): " +
                string.Create(CultureInfo.InvariantCulture, $"elementwise {tolerance.Elementwise:E0}, reductions {tolerance.Reduction:E0}, matmuls and attention {tolerance.Products:E0}"));
            var check = new OpCheck(reference, candidate, parse.GetValue(seed));
            string which = parse.GetValue(size)!;
            if (which is "small" or "all")
            {
                check.Run(OpCheck.Shape.Small, tolerance);
            }

            if (which is "d12" or "all")
            {
                check.Run(OpCheck.Shape.D12, tolerance);
            }

            output.WriteLine($"{"op",-40} {"max abs err",12} {"err/max|ref|",12} {"max|ref|",12}  result");
            foreach (var c in check.Results)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Name,-40} {c.MaxAbsError,12:E2} {c.RelativeToMax,12:E2} {c.ReferenceMax,12:E2}  {(c.Ok ? "OK" : "FAIL")} {c.Note}"));
            }

            int failed = check.Results.Count(c => !c.Ok);
            output.WriteLine(failed == 0 ? $"overall: OK ({check.Results.Count} checks)" : $"overall: FAIL ({failed} of {check.Results.Count} checks)");
            return failed == 0 ? ExitCodes.Success : ExitCodes.CheckFailed;
        }));
        return command;
    }
}
