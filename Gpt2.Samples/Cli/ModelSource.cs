using Gpt2.Backends;
using Gpt2.Formats;
using Gpt2.Model;

namespace Gpt2.Samples.Cli;

/// <summary>
/// The <c>--model</c> (<c>-e</c>) argument: a pretrained name (gpt2, gpt2-medium, gpt2-large, gpt2-xl: its downloaded
/// file, fetched first when missing), a model file to load, or a descriptor to initialise from. Names come before
/// files, so a file named like a model is given as <c>./gpt2</c>.
/// </summary>
internal sealed class ModelSource
{
    private ModelSource(string argument, Gpt2Config config, bool isFile)
    {
        Argument = argument;
        Config = config;
        IsFile = isFile;
    }

    public string Argument { get; }

    public Gpt2Config Config { get; }

    public bool IsFile { get; }

    /// <summary>Reads the file's header or parses the descriptor, and checks T against the model's context.</summary>
    public static ModelSource Resolve(string argument, int sequenceLength, TextWriter log)
    {
        argument = HuggingFace.Hub.ResolveModel(argument, log);
        bool isFile = File.Exists(argument);
        Gpt2Config config;
        try
        {
            config = isFile ? ModelFile.ReadHeader(argument).Config : Gpt2Config.FromDescriptor(argument);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--model: '{argument}' is neither a model file nor a descriptor. {e.Message}");
        }

        if (sequenceLength > config.MaxSequenceLength)
        {
            throw new UsageException($"--seq: {sequenceLength} exceeds the model's maxT {config.MaxSequenceLength}.");
        }

        return new ModelSource(argument, config, isFile);
    }

    /// <summary>Loads the file, or creates GPT-2's random initialisation with the seed.</summary>
    public Gpt2Model Create(ComputeBackend backend, uint seed, ElementType precision = ElementType.Float32) =>
        IsFile ? Gpt2Model.Load(Argument, backend, precision) : Gpt2Model.CreateRandom(Config, backend, seed, precision);
}
