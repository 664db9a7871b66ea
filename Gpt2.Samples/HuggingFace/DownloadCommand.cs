using System.CommandLine;
using Gpt2.Formats;
using Gpt2.HuggingFace;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.HuggingFace;

/// <summary><c>gpt2 download</c>: OpenAI's GPT-2 weights from the Hugging Face hub, as llm.c's model file.</summary>
internal static class DownloadCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var name = new Argument<string>("model") { Description = $"One of {string.Join(", ", PretrainedGpt2.Names)}." };
        name.AcceptOnlyFromAmong([.. PretrainedGpt2.Names]);
        var path = new Option<string?>("--output", "-o") { Description = $"Model file to write (default: llm.c's name in {Hub.DataDirectory}, e.g. gpt2_124M.bin)." };
        var bf16 = new Option<bool>("--bf16") { Description = "Write version 5 (bf16) instead of version 3 (fp32)." };
        var command = new Command("download",
            $"Download a pretrained GPT-2 from the Hugging Face hub (HF_ENDPOINT overrides the hub) and convert it to llm.c's model file. " +
            $"The hub files are kept in {Hub.DataDirectory}/huggingface and reused. Exit code 3 when the download fails.")
        {
            name, path, bf16,
        };
        command.SetAction(parse => CommandGuard.Run(error, "download", () =>
        {
            string model = parse.GetValue(name)!;
            var format = parse.GetValue(bf16) ? ModelFileFormat.BFloat16 : ModelFileFormat.Float32;
            string? file = parse.GetValue(path);
            if (file is { Length: 0 })
            {
                throw new UsageException("--output: empty path.");
            }

            string written = Hub.Download(model, format, file, output);
            var (config, _) = ModelFile.ReadHeader(written);
            output.WriteLine($"wrote {written}: {model}, L={config.LayerCount} NH={config.HeadCount} C={config.ChannelCount} V={config.VocabularySize} (Vp {config.PaddedVocabularySize}), version {(int)format}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
