using System.CommandLine;
using Gpt2.Formats;
using Gpt2.Model;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.Init;

/// <summary><c>gpt2 init</c>: writes a randomly initialised model file, drawn as llm.c draws it for the same descriptor and seed.</summary>
internal static class InitCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model", "-e") { Description = "Descriptor: d12, d24, d36, d48 or gpt3:cN.", DefaultValueFactory = _ => "d12" };
        var path = new Option<string>("--output", "-o") { Description = "Model file to write.", Required = true };
        var seed = new Option<uint>("--seed") { Description = "Initialisation seed (llm.c uses 42).", DefaultValueFactory = _ => 42u };
        var bf16 = new Option<bool>("--bf16") { Description = "Write version 5 (bf16) instead of version 3 (fp32)." };
        var command = new Command("init", "Write a GPT-2 model file with GPT-2's random initialisation.") { model, path, seed, bf16 };
        command.SetAction(parse => CommandGuard.Run(error, "init", () =>
        {
            Gpt2Config config;
            try
            {
                config = Gpt2Config.FromDescriptor(parse.GetValue(model)!);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--model: {e.Message}");
            }

            var layout = new ParameterLayout(config);
            var parameters = new float[layout.Count];
            ParameterInitializer.Initialize(layout, parse.GetValue(seed), parameters);
            var format = parse.GetValue(bf16) ? ModelFileFormat.BFloat16 : ModelFileFormat.Float32;
            string file = parse.GetValue(path)!;
            ModelFile.Write(file, config, format, parameters);
            output.WriteLine($"wrote {file}: {parse.GetValue(model)}, {layout.Count:N0} parameters, version {(int)format}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
