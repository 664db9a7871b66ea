using System.CommandLine;
using Gpt2.Data;
using Gpt2.Formats;
using Gpt2.IO;
using Gpt2.Samples.Cli;

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
        var archive = new Option<string?>("--archive") { Description = "A local copy of TinyStories_all_data.tar.gz instead of downloading it." };
        var storiesOut = new Option<string>("--out") { Description = "Folder for the shards.", DefaultValueFactory = _ => "data/tinystories" };
        var stories = new Command("tinystories", "Download TinyStories (or take --archive) and write TinyStories_val.bin and TinyStories_train.bin.")
        {
            archive, storiesOut,
        };
        stories.SetAction(parse => CommandGuard.Run(error, "prepare tinystories", () =>
        {
            string dir = parse.GetValue(storiesOut)!;
            string? local = parse.GetValue(archive);
            if (local is not null && !File.Exists(local))
            {
                throw new UsageException($"--archive: file not found: {local}");
            }

            (string val, string train) = Terminal.WithProgress(output, p => Await(TinyStories.PrepareAsync(dir, local, p), "--archive FILE"));
            output.WriteLine($"wrote {val} ({TokenShard.ReadTokenCount(val):N0} tokens) and {train} ({TokenShard.ReadTokenCount(train):N0} tokens)");
            return ExitCodes.Success;
        }));

        var inputs = new Argument<string[]>("inputs") { Description = "Text files or folders (every *.txt below them).", Arity = ArgumentArity.OneOrMore };
        var textOut = new Option<string>("--out") { Description = "Folder for the shards.", Required = true };
        var valTokens = new Option<int>("--val-tokens") { Description = "Tokens in the validation shard.", DefaultValueFactory = _ => 32768 };
        var shardTokens = new Option<int>("--shard-tokens") { Description = "Tokens per training shard.", DefaultValueFactory = _ => 100_000_000 };
        var prefix = new Option<string>("--prefix") { Description = "Shard file name prefix.", DefaultValueFactory = _ => "text" };
        var text = new Command("text", "Tokenize any text corpus into a validation shard and training shards (one document per file).")
        {
            inputs, textOut, valTokens, shardTokens, prefix,
        };
        text.SetAction(parse => CommandGuard.Run(error, "prepare text", () =>
        {
            int v = parse.GetValue(valTokens), n = parse.GetValue(shardTokens);
            if (v <= 0)
            {
                throw new UsageException($"--val-tokens: must be positive, got {v}.");
            }

            if (n <= 0)
            {
                throw new UsageException($"--shard-tokens: must be positive, got {n}.");
            }

            var files = new List<string>();
            foreach (string input in parse.GetValue(inputs)!)
            {
                if (Directory.Exists(input))
                {
                    var found = Directory.GetFiles(input, "*.txt", SearchOption.AllDirectories);
                    Array.Sort(found, StringComparer.Ordinal);
                    files.AddRange(found);
                }
                else if (File.Exists(input))
                {
                    files.Add(input);
                }
                else
                {
                    throw new UsageException($"inputs: not a file or folder: {input}");
                }
            }

            if (files.Count == 0)
            {
                throw new UsageException("inputs: no .txt files found.");
            }

            try
            {
                int last = 0;
                var shards = TextCorpus.Write(files, parse.GetValue(textOut)!, parse.GetValue(prefix)!, v, n, count =>
                {
                    if (count == files.Count || count - Volatile.Read(ref last) >= Math.Max(1, files.Count / 20))
                    {
                        Volatile.Write(ref last, count);
                        output.WriteLine($"  tokenized {count}/{files.Count} files");
                    }
                });
                foreach (string shard in shards)
                {
                    output.WriteLine($"wrote {shard} ({TokenShard.ReadTokenCount(shard):N0} tokens)");
                }
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--val-tokens: {e.Message}");
            }

            return ExitCodes.Success;
        }));
        var fineweb = FineWebCommand(output, error);
        var swagInput = new Option<string?>("--input") { Description = "A local hellaswag_val.jsonl instead of downloading it." };
        var swagOut = new Option<string>("--out") { Description = "Folder for hellaswag_val.bin.", DefaultValueFactory = _ => "data/hellaswag" };
        var hellaswag = new Command("hellaswag", "Download HellaSwag's validation split (or take --input) and write llm.c's eval file hellaswag_val.bin.")
        {
            swagInput, swagOut,
        };
        hellaswag.SetAction(parse => CommandGuard.Run(error, "prepare hellaswag", () =>
        {
            string? local = parse.GetValue(swagInput);
            if (local is not null && !File.Exists(local))
            {
                throw new UsageException($"--input: file not found: {local}");
            }

            try
            {
                var (path, count) = Terminal.WithProgress(output, p => Gpt2.Evaluation.HellaSwagFile.PrepareAsync(parse.GetValue(swagOut)!, local, p).GetAwaiter().GetResult());
                output.WriteLine($"wrote {path} ({count:N0} examples)");
            }
            catch (DownloadException e)
            {
                throw new UnavailableException($"{e.Message} Without network, pass a local copy: gpt2 prepare hellaswag --input hellaswag_val.jsonl");
            }

            return ExitCodes.Success;
        }));
        return new Command("prepare", "Prepare token shards for training, and HellaSwag's eval file.") { shakespeare, stories, text, fineweb, hellaswag };
    }

    /// <summary><c>prepare fineweb</c>: llm.c's fineweb.py, from local parquet files or the hub.</summary>
    private static Command FineWebCommand(TextWriter output, TextWriter error)
    {
        var edu = new Option<bool>("--edu") { Description = "FineWeb-Edu (HuggingFaceFW/fineweb-edu) instead of FineWeb; shards named edu_fineweb_*." };
        var sample = new Option<string>("--sample") { Description = "The hub's sample: 10BT or 100BT.", DefaultValueFactory = _ => "10BT" };
        sample.AcceptOnlyFromAmong("10BT", "100BT");
        var input = new Option<string[]>("--input") { Description = "Local parquet files or folders (*.parquet in name order) instead of downloading.", AllowMultipleArgumentsPerToken = true };
        var outDir = new Option<string?>("--out") { Description = "Folder for the shards (default data/fineweb10B, data/edu_fineweb100B, ... as llm.c)." };
        var shardTokens = new Option<int>("--shard-tokens") { Description = "Tokens per shard.", DefaultValueFactory = _ => FineWeb.DefaultShardTokens };
        var maxShards = new Option<int>("--max-shards") { Description = "Stop after N shards (0: all); downloads only what they need.", DefaultValueFactory = _ => 0 };
        var command = new Command("fineweb",
            "Tokenize FineWeb (or FineWeb-Edu) into llm.c shards as its fineweb.py: <|endoftext|> before each document, the first shard for validation. " +
            "Downloads the sample's parquet files from the Hugging Face hub (HF_ENDPOINT overrides it) into OUT/parquet unless --input is given.")
        {
            edu, sample, input, outDir, shardTokens, maxShards,
        };
        command.SetAction(parse => CommandGuard.Run(error, "prepare fineweb", () =>
        {
            bool isEdu = parse.GetValue(edu);
            string sampleName = parse.GetValue(sample)!;
            string dir = parse.GetValue(outDir) ?? Path.Combine("data", $"{FineWeb.Prefix(isEdu)}{sampleName.TrimEnd('T')}");
            int tokens = Flags.Positive(parse.GetValue(shardTokens), "--shard-tokens");
            int max = Flags.NonNegative(parse.GetValue(maxShards), "--max-shards");
            IAsyncEnumerable<string>? files = null;
            if (parse.GetValue(input) is { Length: > 0 } inputs)
            {
                var local = new List<string>();
                foreach (string path in inputs)
                {
                    if (Directory.Exists(path))
                    {
                        var found = Directory.GetFiles(path, "*.parquet");
                        Array.Sort(found, StringComparer.Ordinal);
                        local.AddRange(found.Length > 0 ? found : throw new UsageException($"--input: no .parquet files in {path}"));
                    }
                    else
                    {
                        local.Add(File.Exists(path) ? path : throw new UsageException($"--input: not a file or folder: {path}"));
                    }
                }

                files = local.ToAsyncEnumerable();
            }

            try
            {
                var shards = Terminal.WithProgress(output, progress => FineWeb.PrepareAsync(
                    files ?? FineWeb.DownloadAsync(isEdu, sampleName, Path.Combine(dir, "parquet"), HuggingFace.Hub.Endpoint, progress),
                    dir, isEdu, tokens, max == 0 ? null : max, progress).GetAwaiter().GetResult());
                foreach (string shard in shards)
                {
                    output.WriteLine($"wrote {shard} ({TokenShard.ReadTokenCount(shard):N0} tokens)");
                }
            }
            catch (DownloadException e)
            {
                throw new UnavailableException($"{e.Message}. Without network, download the sample's parquet files elsewhere and pass them: gpt2 prepare fineweb --input FOLDER");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    public static (string Validation, string Train) Run(TextWriter output, string? inputPath, string directory)
    {
        if (inputPath is not null && !File.Exists(inputPath))
        {
            throw new UsageException($"--input: file not found: {inputPath}");
        }

        var (valPath, trainPath) = Terminal.WithProgress(output, p => Await(TinyShakespeare.PrepareAsync(directory, inputPath, p),
            "gpt2 prepare tinyshakespeare --input input.txt"));
        output.WriteLine($"wrote {valPath} ({TokenShard.ReadTokenCount(valPath):N0} tokens) and {trainPath} ({TokenShard.ReadTokenCount(trainPath):N0} tokens)");
        return (valPath, trainPath);
    }

    /// <summary>Waits for a preparation; a failed download becomes a usage error that says how to work offline.</summary>
    private static (string Validation, string Train) Await(Task<(string Validation, string Train)> prepare, string offline)
    {
        try
        {
            return prepare.GetAwaiter().GetResult();
        }
        catch (DownloadException e)
        {
            throw new UnavailableException($"{e.Message} Without network, pass a local copy: {offline}");
        }
    }
}
