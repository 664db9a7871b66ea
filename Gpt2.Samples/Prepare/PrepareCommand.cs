using System.CommandLine;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.Samples.Cli;
using Gpt2.Text;

namespace Gpt2.Samples.Prepare;

/// <summary><c>gpt2 prepare tinyshakespeare</c>: the text, tokenized into llm.c token shards.</summary>
internal static class PrepareCommand
{
    public const string DefaultDirectory = "data/tinyshakespeare";

    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Option<string?>("--input") { Description = "A local copy of the text instead of downloading it." };
        var outDir = new Option<string>("--out") { Description = "Folder for the shards.", DefaultValueFactory = _ => DefaultDirectory };
        var shakespeare = new Command("tinyshakespeare",
            "Download TinyShakespeare (or take --input) and write tiny_shakespeare_val.bin (32,768 tokens) and tiny_shakespeare_train.bin.")
        {
            input, outDir,
        };
        shakespeare.SetAction(parse => CommandGuard.Run(error, "prepare tinyshakespeare", () =>
        {
            string dir = parse.GetValue(outDir)!;
            Run(output, parse.GetValue(input), dir);
            return ExitCodes.Success;
        }));
        return new Command("prepare", "Prepare token shards for training.") { shakespeare };
    }

    public static (string Validation, string Train) Run(TextWriter output, string? inputPath, string directory)
    {
        string text;
        if (inputPath is not null)
        {
            if (!File.Exists(inputPath))
            {
                throw new UsageException($"--input: file not found: {inputPath}");
            }

            text = File.ReadAllText(inputPath);
        }
        else
        {
            string cached = Path.Combine(directory, "tiny_shakespeare.txt");
            if (!File.Exists(cached))
            {
                output.WriteLine($"downloading {TinyShakespeare.Url}");
                try
                {
                    Downloader.Download(TinyShakespeare.Url, cached, output);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    throw new UsageException(
                        $"could not download {TinyShakespeare.Url} ({e.Message}). Without network, pass a local copy: gpt2 prepare tinyshakespeare --input input.txt");
                }
            }

            text = File.ReadAllText(cached);
        }

        var (val, train) = TinyShakespeare.Tokenize(text, Gpt2Tokenizer.Instance);
        string valPath = Path.Combine(directory, "tiny_shakespeare_val.bin");
        string trainPath = Path.Combine(directory, "tiny_shakespeare_train.bin");
        TokenShard.Write(valPath, val);
        TokenShard.Write(trainPath, train);
        output.WriteLine($"wrote {valPath} ({val.Length:N0} tokens) and {trainPath} ({train.Length:N0} tokens)");
        return (valPath, trainPath);
    }
}
