using Gpt2.Formats;
using Gpt2.HuggingFace;
using Gpt2.IO;
using Gpt2.Samples.Cli;

namespace Gpt2.Samples.HuggingFace;

/// <summary>Pretrained GPT-2 for the command line: where downloads go, which hub, and the offline advice.</summary>
internal static class Hub
{
    /// <summary>The data folder of downloaded models (and, under huggingface/, the hub files they came from).</summary>
    public const string DataDirectory = "data/models";

    /// <summary>The hub: <c>HF_ENDPOINT</c> as the Hugging Face tools read it (a mirror), else huggingface.co.</summary>
    public static Uri Endpoint =>
        Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e && Uri.TryCreate(e.TrimEnd('/') + "/", UriKind.Absolute, out var uri)
            ? uri
            : PretrainedGpt2.DefaultEndpoint;

    /// <summary>A pretrained name resolves to its model file in <see cref="DataDirectory"/>, downloaded first when missing; anything else is returned as is.</summary>
    public static string ResolveModel(string argument, TextWriter log)
    {
        if (!PretrainedGpt2.IsName(argument))
        {
            return argument;
        }

        string path = Path.Combine(DataDirectory, PretrainedGpt2.FileName(argument));
        return File.Exists(path) ? path : Download(argument, ModelFileFormat.Float32, path, log);
    }

    /// <summary>Downloads and converts a pretrained model; a failed download says how to do without the network.</summary>
    public static string Download(string name, ModelFileFormat format, string? output, TextWriter log)
    {
        try
        {
            return Terminal.WithProgress(log, p => PretrainedGpt2.DownloadAsync(name, DataDirectory, format, output, Endpoint, p).GetAwaiter().GetResult());
        }
        catch (DownloadException e)
        {
            string target = output ?? Path.Combine(DataDirectory, PretrainedGpt2.FileName(name, format));
            throw new UnavailableException(
                $"{e.Message}. Offline? Fetch {HuggingFaceModel.WeightsFileName} and {HuggingFaceModel.ConfigFileName} from " +
                $"{new Uri(Endpoint, PretrainedGpt2.Repository(name)).AbsoluteUri} on a machine that has the network, put them in a folder, " +
                $"and run: gpt2 import FOLDER -o {target}{(format == ModelFileFormat.BFloat16 ? " --bf16" : "")}");
        }
    }
}
