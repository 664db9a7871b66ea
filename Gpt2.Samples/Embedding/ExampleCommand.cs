using System.CommandLine;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Embedding;

/// <summary><c>gpt2 example</c>: runs <see cref="EmbeddingExample"/>, the library used from an application.</summary>
internal static class ExampleCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Option<string?>("--input") { Description = "A local copy of TinyShakespeare instead of downloading it." };
        var outDir = new Option<string>("--out") { Description = "Folder for the data, log and checkpoint.", DefaultValueFactory = _ => "example" };
        var command = new Command("example", "Train a small GPT-2 for 40 steps and sample from it through the library API (see Embedding/EmbeddingExample.cs).")
        {
            input, outDir,
        };
        command.SetAction(parse => CommandGuard.Run(error, "example", () =>
        {
            string? text = parse.GetValue(input);
            if (text is not null && !File.Exists(text))
            {
                throw new UsageException($"--input: file not found: {text}");
            }

            try
            {
                var (initial, summary) = EmbeddingExample.RunAsync(parse.GetValue(outDir)!, text, output).GetAwaiter().GetResult();
                return summary.FinalValidationLoss < initial ? ExitCodes.Success : ExitCodes.CheckFailed;
            }
            catch (IO.DownloadException e)
            {
                throw new UsageException($"{e.Message} Without network, pass a local copy: --input FILE");
            }
        }));
        return command;
    }
}
