using System.Net.Http;
using Gpt2.Formats;
using Gpt2.IO;

namespace Gpt2.HuggingFace;

/// <summary>
/// OpenAI's GPT-2 weights from the Hugging Face hub (openai-community/gpt2, -medium, -large, -xl), downloaded and
/// converted to llm.c's model files under llm.c's names (gpt2_124M.bin, gpt2_350M.bin, gpt2_774M.bin,
/// gpt2_1558M.bin; <c>_bf16</c> before the extension for version 5).
/// </summary>
public static class PretrainedGpt2
{
    /// <summary>The hub the weights come from unless told otherwise.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    private static readonly (string Name, string Size)[] Models =
        [("gpt2", "124M"), ("gpt2-medium", "350M"), ("gpt2-large", "774M"), ("gpt2-xl", "1558M")];

    /// <summary>The model names: gpt2, gpt2-medium, gpt2-large, gpt2-xl.</summary>
    public static IReadOnlyList<string> Names { get; } = Models.Select(m => m.Name).ToArray();

    /// <summary>True for one of <see cref="Names"/>.</summary>
    /// <param name="name">A name.</param>
    /// <returns>Whether it names a pretrained GPT-2.</returns>
    public static bool IsName(string? name) => Array.Exists(Models, m => m.Name == name);

    /// <summary>The hub repository of a model, for example <c>openai-community/gpt2</c>.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <returns>The repository id.</returns>
    public static string Repository(string name) => $"openai-community/{Check(name)}";

    /// <summary>llm.c's file name for a model, for example <c>gpt2_124M.bin</c> or <c>gpt2_124M_bf16.bin</c>.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="format">The model file's format.</param>
    /// <returns>The file name.</returns>
    public static string FileName(string name, ModelFileFormat format = ModelFileFormat.Float32) =>
        $"gpt2_{Models.First(m => m.Name == Check(name)).Size}{(format == ModelFileFormat.BFloat16 ? "_bf16" : "")}.bin";

    /// <summary>
    /// Downloads a model's model.safetensors and config.json into <c>huggingface/&lt;repository&gt;</c> under
    /// <paramref name="directory"/> (kept, and reused by later calls; an interrupted download resumes) and converts
    /// them with <see cref="HuggingFaceModel.Import"/>.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="directory">The data folder: the cache goes under it, and the model file too unless <paramref name="output"/> says otherwise.</param>
    /// <param name="format">The model file's format.</param>
    /// <param name="output">The model file to write; default <see cref="FileName"/> in <paramref name="directory"/>.</param>
    /// <param name="endpoint">The hub; default <see cref="DefaultEndpoint"/>.</param>
    /// <param name="progress">Receives progress lines.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The model file's path.</returns>
    /// <exception cref="DownloadException">The hub could not be reached or sent something else than it announced.</exception>
    /// <exception cref="FileFormatException">The downloaded files are not a GPT-2 that llm.c's format can hold.</exception>
    public static async Task<string> DownloadAsync(string name, string directory, ModelFileFormat format = ModelFileFormat.Float32,
        string? output = null, Uri? endpoint = null, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string repository = Repository(name);
        string cache = CacheFolder(directory, name);
        output ??= Path.Combine(directory, FileName(name, format));
        foreach (string file in new[] { HuggingFaceModel.ConfigFileName, HuggingFaceModel.WeightsFileName })
        {
            string local = Path.Combine(cache, file);
            if (File.Exists(local))
            {
                continue;
            }

            string url = new Uri(endpoint ?? DefaultEndpoint, $"{repository}/resolve/main/{file}").AbsoluteUri;
            progress?.Report($"downloading {url}");
            await Downloader.DownloadAsync(url, local, progress, cancellationToken).ConfigureAwait(false);
        }

        progress?.Report($"converting {cache} to {output}");
        HuggingFaceModel.Import(cache, output, format);
        return output;
    }

    /// <summary>Where <see cref="DownloadAsync"/> keeps a model's hub files.</summary>
    /// <param name="directory">The data folder.</param>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <returns>The folder.</returns>
    public static string CacheFolder(string directory, string name) =>
        Path.Combine(directory, "huggingface", Repository(name).Replace('/', Path.DirectorySeparatorChar));

    private static string Check(string name) =>
        IsName(name) ? name : throw new ArgumentException($"Unknown pretrained model '{name}'; expected {string.Join(", ", Names)}.", nameof(name));
}
