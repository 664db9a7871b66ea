using System.CommandLine;
using Gpt2.HuggingFace;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.HuggingFace;

/// <summary><c>gpt2 export</c>: llm.c's model file to a Hugging Face model folder that transformers loads.</summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Argument<string>("model") { Description = "The llm.c model file (version 3 or 5)." };
        var folder = new Option<string>("--hf") { Description = "Folder to write model.safetensors, config.json, generation_config.json and the tokenizer files into.", Required = true };
        var bf16 = new Option<bool>("--bf16") { Description = "Store BF16 tensors instead of F32." };
        var command = new Command("export",
            "Write a model as a Hugging Face folder: AutoModelForCausalLM.from_pretrained and AutoTokenizer.from_pretrained load it.")
        {
            model, folder, bf16,
        };
        command.SetAction(parse => CommandGuard.Run(error, "export", () =>
        {
            string dir = parse.GetValue(folder)!;
            if (dir.Length == 0)
            {
                throw new UsageException("--hf: empty path.");
            }

            var type = parse.GetValue(bf16) ? SafetensorsDataType.BFloat16 : SafetensorsDataType.Float32;
            HuggingFaceModel.Export(parse.GetValue(model)!, dir, type);
            output.WriteLine($"wrote {dir}: {HuggingFaceModel.WeightsFileName} ({type.FormatName()}), {HuggingFaceModel.ConfigFileName}, generation_config.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json");
            return ExitCodes.Success;
        }));
        return command;
    }
}
