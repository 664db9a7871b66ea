using System.CommandLine;
using Gpt2.Model;
using Gpt2.Samples.Cli;
using Gpt2.Text;

namespace Gpt2.Samples.Sample;

/// <summary><c>gpt2 sample</c>: streams generated text from a model file, with a KV cache.</summary>
internal static class SampleCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model", "-e") { Description = "Model file (llm.c version 3 or 5), or pretrained GPT-2 (gpt2, gpt2-medium, gpt2-large, gpt2-xl: downloaded once into data/models).", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "Text to continue (default: start of a document).", DefaultValueFactory = _ => "" };
        var tokens = new Option<int>("--tokens", "-g") { Description = "Tokens to generate.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "Softmax temperature; 0 is greedy.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Sample among the most likely tokens covering probability p (1: all).", DefaultValueFactory = _ => 1f };
        var seed = new Option<ulong>("--seed") { Description = "Sampler seed.", DefaultValueFactory = _ => 1337ul };
        var backend = new Option<string>("--backend") { Description = "Compute backend.", DefaultValueFactory = _ => "cpu" };
        var precision = Cli.Backends.PrecisionOption();
        backend.AcceptOnlyFromAmong(Cli.Backends.Names);
        var command = new Command("sample", "Generate text from a model, streaming tokens as they come.")
        {
            model, prompt, tokens, temperature, topK, topP, seed, backend, precision,
        };

        command.SetAction(parse => CommandGuard.Run(error, "sample", () =>
        {
            int n = parse.GetValue(tokens);
            float temp = parse.GetValue(temperature), p = parse.GetValue(topP);
            int k = parse.GetValue(topK);
            if (n <= 0)
            {
                throw new UsageException($"--tokens: must be positive, got {n}.");
            }

            if (!(temp >= 0) || float.IsInfinity(temp))
            {
                throw new UsageException($"--temperature: must be 0 or more, got {temp}.");
            }

            if (k < 0)
            {
                throw new UsageException($"--top-k: must be 0 or more, got {k}.");
            }

            if (!(p > 0 && p <= 1))
            {
                throw new UsageException($"--top-p: must be in (0, 1], got {p}.");
            }

            string file = HuggingFace.Hub.ResolveModel(parse.GetValue(model)!, error);
            var (config, _) = Formats.ModelFile.ReadHeader(file);
            if (config.VocabularySize <= Gpt2Tokenizer.EndOfText)
            {
                throw new UsageException($"--model: {file} has a vocabulary of {config.VocabularySize} tokens, without GPT-2's <|endoftext|> ({Gpt2Tokenizer.EndOfText}) that " +
                    "generation starts from; sample needs a model with GPT-2's vocabulary.");
            }

            string text = parse.GetValue(prompt)!;
            int promptTokens = 1 + Gpt2Tokenizer.Instance.Encode(text).Count;
            if (promptTokens >= config.MaxSequenceLength)
            {
                throw new UsageException($"--prompt: {promptTokens} tokens leave no room in the model's context of {config.MaxSequenceLength}.");
            }

            using var be = Cli.Backends.Create(parse.GetValue(backend)!, threads: null);
            using var gpt = Gpt2Model.Load(file, be, Cli.Backends.Precision(be, parse.GetValue(precision)!));
            var options = new GenerationOptions { MaxTokens = n, Temperature = temp, TopK = k, TopP = p, Seed = parse.GetValue(seed) };
            output.Write(text);
            int generated = 0, last = -1;
            foreach (var token in gpt.GenerateTokens(text, options))
            {
                output.Write(token.Text);
                output.Flush();
                generated++;
                last = token.Id;
            }

            output.WriteLine();
            if (generated < n)
            {
                error.WriteLine(last == Gpt2Tokenizer.EndOfText
                    ? $"gpt2 sample: the model ended the text (<|endoftext|>) after {generated} tokens."
                    : $"gpt2 sample: stopped after {generated} tokens at the model's context of {config.MaxSequenceLength}.");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
