using System.Runtime.InteropServices;
using Gpt2.Formats;
using Gpt2.Model;

namespace Gpt2.HuggingFace;

/// <summary>
/// GPT-2 in Hugging Face's layout (transformers' GPT2LMHeadModel as <c>model.safetensors</c> + <c>config.json</c>)
/// converted to llm.c's model file and back, as llm.c's <c>train_gpt2.py</c> converts OpenAI's weights. Conv1D weights
/// are transposed from (in, out) to llm.c's (out, in); wte gains zero rows up to Vp; the classifier stays tied to wte.
/// </summary>
public static class HuggingFaceModel
{
    /// <summary>The weights file in a model folder.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The shape file in a model folder.</summary>
    public const string ConfigFileName = Gpt2HubConfig.FileName;

    /// <summary>
    /// Converts a Hugging Face GPT-2 to an llm.c model file. Keys may carry save_pretrained's <c>transformer.</c> prefix
    /// or not (the hub's original files); the causal-mask buffers older files carry (<c>h.N.attn.bias</c>) are ignored;
    /// F32, F16, BF16 and F64 tensors are accepted; <c>lm_head.weight</c> must be absent or equal to wte. Every tensor
    /// is checked against config.json before anything is written, and the output is written atomically.
    /// </summary>
    /// <param name="source">A folder holding model.safetensors and config.json, or a .safetensors file with config.json beside it.</param>
    /// <param name="output">The llm.c model file to write.</param>
    /// <param name="format">Version 3 (fp32) or 5 (bf16, rounded to nearest even).</param>
    /// <returns>The model's shape.</returns>
    /// <exception cref="FileNotFoundException">The weights or config.json are missing.</exception>
    /// <exception cref="FileFormatException">A file is malformed, a tensor is missing, extra or of the wrong shape, or the head is untied.</exception>
    public static Gpt2Config Import(string source, string output, ModelFileFormat format = ModelFileFormat.Float32)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(output);
        var (weightsPath, configPath) = Locate(source);
        var config = Gpt2HubConfig.Read(configPath);
        var layout = new ParameterLayout(config);
        using var file = SafetensorsFile.Open(weightsPath);
        var tensors = Match(file, layout);

        if (tensors.LmHead is { } head)
        {
            var wte = Read(file, tensors.ByKey[Gpt2Keys.Of(layout.TokenEmbedding, 0)]);
            var lm = Read(file, head);
            if (!MemoryMarshal.Cast<float, int>(wte).SequenceEqual(MemoryMarshal.Cast<float, int>(lm)))
            {
                throw new FileFormatException(weightsPath,
                    $"tensor '{head.Name}' differs from wte: the classifier is not tied to the token embedding, and llm.c's model file has no separate head");
            }
        }

        using var slices = Gpt2Keys.Slices(layout)
            .Select(s => Gpt2Keys.ToLlmc(s.Row, config, Read(file, tensors.ByKey[Gpt2Keys.Of(s.Row, s.Layer)])))
            .GetEnumerator();
        float[] current = [];
        long currentStart = 0;
        ModelFile.Write(output, config, format, (offset, chunk) =>
        {
            for (int filled = 0; filled < chunk.Length;)
            {
                long at = offset + filled;
                while (at >= currentStart + current.Length)
                {
                    currentStart += current.Length;
                    current = slices.MoveNext() ? slices.Current : throw new InvalidOperationException("The table ran out of slices.");
                }

                int n = (int)Math.Min(chunk.Length - filled, currentStart + current.Length - at);
                current.AsSpan((int)(at - currentStart), n).CopyTo(chunk[filled..]);
                filled += n;
            }
        });
        return config;
    }

    /// <summary>
    /// Writes an llm.c model file as a Hugging Face model folder: model.safetensors (keys as save_pretrained writes
    /// them, wte's padding rows dropped, the head tied), config.json, generation_config.json and GPT-2's tokenizer
    /// files (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json), so that transformers'
    /// <c>AutoModelForCausalLM.from_pretrained</c> and <c>AutoTokenizer.from_pretrained</c> load it. The files are made
    /// in a temporary folder beside <paramref name="folder"/> and moved into it only when all are written.
    /// </summary>
    /// <param name="model">The llm.c model file (version 3 or 5).</param>
    /// <param name="folder">The folder to write (created when missing; files of the same names are replaced).</param>
    /// <param name="dataType"><see cref="SafetensorsDataType.Float32"/> or <see cref="SafetensorsDataType.BFloat16"/> (rounded to nearest even).</param>
    /// <exception cref="FileNotFoundException">The model file is missing.</exception>
    /// <exception cref="FileFormatException">The model file is malformed.</exception>
    public static void Export(string model, string folder, SafetensorsDataType dataType = SafetensorsDataType.Float32)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (dataType is not (SafetensorsDataType.Float32 or SafetensorsDataType.BFloat16))
        {
            throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "Export writes F32 or BF16.");
        }

        string target = Path.GetFullPath(folder);
        if (File.Exists(target))
        {
            throw new IOException($"{folder} is a file; export writes a folder.");
        }

        var (stream, config, format) = ModelFile.OpenParameters(model);
        string temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (stream)
            {
                Directory.CreateDirectory(temp);
                var layout = new ParameterLayout(config);
                var slices = Gpt2Keys.Slices(layout).ToList();
                var entries = slices
                    .Select(s => new SafetensorsWriter.Entry(Gpt2Keys.Prefix + Gpt2Keys.Of(s.Row, s.Layer), dataType, Gpt2Keys.ShapeOf(s.Row, config)))
                    .ToList();
                var metadata = new Dictionary<string, string> { ["format"] = "pt" };
                SafetensorsWriter.Write(Path.Combine(temp, WeightsFileName), entries, metadata, (i, output) =>
                {
                    var llmc = new float[slices[i].Row.LayerLength];
                    ModelFile.ReadNext(stream, model, format, llmc);
                    var hf = Gpt2Keys.FromLlmc(slices[i].Row, config, llmc);
                    if (dataType == SafetensorsDataType.Float32)
                    {
                        output.Write(MemoryMarshal.AsBytes(hf.AsSpan()));
                    }
                    else
                    {
                        var narrow = new ushort[hf.Length];
                        BFloat16.FromSingle(hf, narrow);
                        output.Write(MemoryMarshal.AsBytes(narrow.AsSpan()));
                    }
                });
            }

            Gpt2HubConfig.Write(Path.Combine(temp, ConfigFileName), config, dataType == SafetensorsDataType.Float32 ? "float32" : "bfloat16");
            Gpt2HubConfig.WriteGenerationConfig(Path.Combine(temp, "generation_config.json"));
            Gpt2TokenizerFiles.Write(temp);
            Directory.CreateDirectory(target);
            foreach (string file in Directory.GetFiles(temp))
            {
                File.Move(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
            }
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    private static (string Weights, string Config) Locate(string source)
    {
        if (Directory.Exists(source))
        {
            string weights = Path.Combine(source, WeightsFileName);
            if (!File.Exists(weights) && File.Exists(Path.Combine(source, WeightsFileName + ".index.json")))
            {
                throw new FileFormatException(source, "the weights are sharded (model.safetensors.index.json); GPT-2's are one file, so re-save them with save_pretrained(max_shard_size=\"100GB\")");
            }

            if (!File.Exists(weights))
            {
                throw new FileNotFoundException($"{WeightsFileName} not found in {source}", weights);
            }

            return (weights, Path.Combine(source, ConfigFileName));
        }

        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"Safetensors file or model folder not found: {source}", source);
        }

        return (source, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(source))!, ConfigFileName));
    }

    private static float[] Read(SafetensorsFile file, SafetensorsTensor tensor)
    {
        var values = new float[tensor.ElementCount];
        file.ReadSingle(tensor, values);
        return values;
    }

    /// <summary>Every parameter's tensor by its unprefixed key, checked for presence, type and shape; extras refused.</summary>
    private static (Dictionary<string, SafetensorsTensor> ByKey, SafetensorsTensor? LmHead) Match(SafetensorsFile file, ParameterLayout layout)
    {
        var byKey = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
        {
            string key = t.Name.StartsWith(Gpt2Keys.Prefix, StringComparison.Ordinal) ? t.Name[Gpt2Keys.Prefix.Length..] : t.Name;
            if (!byKey.TryAdd(key, t))
            {
                throw new FileFormatException(file.Path, $"tensor '{key}' appears both with and without the '{Gpt2Keys.Prefix}' prefix");
            }
        }

        var config = layout.Config;
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (row, layer) in Gpt2Keys.Slices(layout))
        {
            string key = Gpt2Keys.Of(row, layer);
            expected.Add(key);
            if (!byKey.TryGetValue(key, out var t))
            {
                throw new FileFormatException(file.Path, $"tensor '{key}' is missing (config.json describes {config.LayerCount} layers)");
            }

            CheckTensor(file, t, Gpt2Keys.ShapeOf(row, config));
        }

        SafetensorsTensor? head = null;
        foreach (var (key, t) in byKey)
        {
            if (expected.Contains(key) || Gpt2Keys.IsIgnored(key))
            {
                continue;
            }

            if (key == Gpt2Keys.LmHead)
            {
                CheckTensor(file, t, [config.VocabularySize, config.ChannelCount]);
                head = t;
                continue;
            }

            throw new FileFormatException(file.Path, $"unexpected tensor '{t.Name}': not part of GPT-2 as config.json describes it");
        }

        return (byKey, head);
    }

    private static void CheckTensor(SafetensorsFile file, SafetensorsTensor t, long[] shape)
    {
        if (t.DataType is not (SafetensorsDataType.Float32 or SafetensorsDataType.Float16 or SafetensorsDataType.BFloat16 or SafetensorsDataType.Float64))
        {
            throw new FileFormatException(file.Path, $"tensor '{t.Name}' is {t.DataType.FormatName()}; weights must be F32, F16, BF16 or F64");
        }

        if (!t.Shape.SequenceEqual(shape))
        {
            throw new FileFormatException(file.Path, $"tensor '{t.Name}' has shape {t.ShapeText}, but config.json implies ({string.Join(", ", shape)})");
        }
    }
}
