using System.CommandLine;
using Gpt2.Formats;
using Gpt2.HuggingFace;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.HuggingFace;

/// <summary><c>gpt2 import</c>: a Hugging Face GPT-2 (safetensors) to llm.c's model file.</summary>
internal static class ImportCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var source = new Argument<string>("source") { Description = "A folder with model.safetensors and config.json, or a .safetensors file with config.json beside it." };
        var path = new Option<string>("--output", "-o") { Description = "Model file to write.", Required = true };
        var bf16 = new Option<bool>("--bf16") { Description = "Write version 5 (bf16) instead of version 3 (fp32)." };
        var command = new Command("import",
            "Convert a transformers GPT2LMHeadModel (model.safetensors + config.json) to llm.c's model file; pickle checkpoints are never read.")
        {
            source, path, bf16,
        };
        command.SetAction(parse => CommandGuard.Run(error, "import", () =>
        {
            string file = parse.GetValue(path)!;
            if (file.Length == 0 || Directory.Exists(file))
            {
                throw new UsageException($"--output: '{file}' is {(file.Length == 0 ? "empty" : "a folder")}; give the model file to write.");
            }

            var format = parse.GetValue(bf16) ? ModelFileFormat.BFloat16 : ModelFileFormat.Float32;
            var config = HuggingFaceModel.Import(parse.GetValue(source)!, file, format);
            output.WriteLine($"wrote {file}: L={config.LayerCount} NH={config.HeadCount} C={config.ChannelCount} V={config.VocabularySize} (Vp {config.PaddedVocabularySize}) maxT={config.MaxSequenceLength}, version {(int)format}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
