using System.CommandLine;
using Gpt2.Samples.Bench;
using Gpt2.Samples.Cli;
using Gpt2.Samples.Devices;
using Gpt2.Samples.Embedding;
using Gpt2.Samples.Eval;
using Gpt2.Samples.HuggingFace;
using Gpt2.Samples.Init;
using Gpt2.Samples.Prepare;
using Gpt2.Samples.Sample;
using Gpt2.Samples.Train;
using Gpt2.Samples.Verify;

namespace Gpt2.Samples;

/// <summary>The <c>gpt2</c> command line.</summary>
internal static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Parses and runs a command, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Train, verify and run GPT-2 in .NET; llm.c's file formats.")
        {
            PrepareCommand.Create(output, error),
            DownloadCommand.Create(output, error),
            ImportCommand.Create(output, error),
            ExportCommand.Create(output, error),
            TrainCommand.Create(output, error),
            SampleCommand.Create(output, error),
            EvalCommand.Create(output, error),
            VerifyCommand.Create(output, error),
            VerifyOpsCommand.Create(output, error),
            BenchCommand.Create(output, error),
            AllReduceBenchCommand.Create(output, error),
            DevicesCommand.Create(output),
            InitCommand.Create(output, error),
            ExampleCommand.Create(output, error),
        };

        // -h is llm.c's HellaSwag flag on train; help stays --help and -?
        foreach (var help in root.Options.OfType<System.CommandLine.Help.HelpOption>())
        {
            help.Aliases.Remove("-h");
            help.Aliases.Remove("/h");
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                error.WriteLine($"gpt2: {e.Message}");
            }

            error.WriteLine("Run 'gpt2 --help' for usage.");
            return ExitCodes.BadInput;
        }

        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
