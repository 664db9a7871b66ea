using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt2.Formats;
using Gpt2.IO;
using Gpt2.Text;

namespace Gpt2.HuggingFace;

/// <summary>
/// transformers' <c>config.json</c> for GPT2LMHeadModel, read into a <see cref="Gpt2Config"/> and written from one.
/// Reading refuses every setting llm.c's model cannot represent, naming the key, rather than train a different model.
/// </summary>
internal static class Gpt2HubConfig
{
    public const string FileName = "config.json";

    /// <summary>Reads the model's shape; the vocabulary is padded to a multiple of 128 as llm.c pads it.</summary>
    public static Gpt2Config Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config.json not found: {path} (the model's shape, n_head in particular, is read from it)", path);
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject
                ?? throw new FileFormatException(path, "not a JSON object");
        }
        catch (JsonException e)
        {
            throw new FileFormatException(path, $"not valid JSON: {e.Message}");
        }

        int Int(string key, string? fallback = null)
        {
            var node = json[key] ?? (fallback is null ? null : json[fallback]);
            if (node is null)
            {
                throw new FileFormatException(path, $"'{key}' is missing");
            }

            return node is JsonValue v && v.TryGetValue(out long n) && n > 0 && n <= int.MaxValue
                ? (int)n
                : throw new FileFormatException(path, $"'{key}' is {node.ToJsonString()}, not a positive integer");
        }

        T Get<T>(string key, T fallback)
        {
            var node = json[key];
            if (node is null)
            {
                return fallback;
            }

            return node is JsonValue v && v.TryGetValue(out T? value) ? value! : throw new FileFormatException(path, $"'{key}' is {node.ToJsonString()}, not a {typeof(T).Name}");
        }

        void Require(bool ok, string key, string why)
        {
            if (!ok)
            {
                throw new FileFormatException(path, $"'{key}' is {json[key]?.ToJsonString() ?? "null"}: {why}; llm.c's GPT-2 cannot represent this model");
            }
        }

        string modelType = Get("model_type", "gpt2");
        Require(modelType == "gpt2", "model_type", "not gpt2");
        string activation = Get("activation_function", "gelu_new");
        Require(activation is "gelu_new" or "gelu_pytorch_tanh", "activation_function", "not GPT-2's tanh GELU (gelu_new)");
        Require(Math.Abs(Get("layer_norm_epsilon", 1e-5) - 1e-5) < 1e-12, "layer_norm_epsilon", "not 1e-5");
        Require(Get("scale_attn_weights", true), "scale_attn_weights", "attention must be scaled by 1/sqrt(head size)");
        Require(!Get("scale_attn_by_inverse_layer_idx", false), "scale_attn_by_inverse_layer_idx", "not plain GPT-2 attention");
        Require(!Get("add_cross_attention", false), "add_cross_attention", "GPT-2 has no cross-attention");
        Require(Get("tie_word_embeddings", true), "tie_word_embeddings", "llm.c ties the classifier to wte");
        int c = Int("n_embd");
        var inner = json["n_inner"];
        Require(inner is null || inner is JsonValue iv && iv.TryGetValue(out long n) && n == 4L * c, "n_inner", $"the MLP must be 4 x n_embd = {4L * c} wide");

        int v = Int("vocab_size"), maxT = Int("n_positions", "n_ctx"), layers = Int("n_layer"), heads = Int("n_head");
        try
        {
            return new Gpt2Config(maxT, v, Gpt2Config.PadVocabulary(v), layers, heads, c);
        }
        catch (ArgumentException e)
        {
            throw new FileFormatException(path, $"n_embd {c} / n_head {heads}: {e.Message}");
        }
    }

    /// <summary>Writes config.json as save_pretrained writes GPT-2's, for a model stored in <paramref name="torchDtype"/>.</summary>
    public static void Write(string path, Gpt2Config config, string torchDtype)
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["vocab_size"] = config.VocabularySize,
            ["n_positions"] = config.MaxSequenceLength,
            ["n_ctx"] = config.MaxSequenceLength,
            ["n_embd"] = config.ChannelCount,
            ["n_layer"] = config.LayerCount,
            ["n_head"] = config.HeadCount,
            ["n_inner"] = null,
            ["activation_function"] = "gelu_new",
            ["layer_norm_epsilon"] = 1e-5,
            ["resid_pdrop"] = 0.1,
            ["embd_pdrop"] = 0.1,
            ["attn_pdrop"] = 0.1,
            ["initializer_range"] = 0.02,
            ["scale_attn_weights"] = true,
            ["use_cache"] = true,
            ["tie_word_embeddings"] = true,
            ["bos_token_id"] = Gpt2Tokenizer.EndOfText,
            ["eos_token_id"] = Gpt2Tokenizer.EndOfText,
            ["torch_dtype"] = torchDtype,
        };
        WriteJson(path, json);
    }

    /// <summary>generation_config.json: GPT-2's end-of-text token as BOS and EOS.</summary>
    public static void WriteGenerationConfig(string path) => WriteJson(path, new JsonObject
    {
        ["bos_token_id"] = Gpt2Tokenizer.EndOfText,
        ["eos_token_id"] = Gpt2Tokenizer.EndOfText,
    });

    public static void WriteJson(string path, JsonNode json) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteTo(writer);
        });
}
