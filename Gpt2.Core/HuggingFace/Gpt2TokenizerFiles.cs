using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt2.IO;
using Gpt2.Text;

namespace Gpt2.HuggingFace;

/// <summary>
/// GPT-2's tokenizer as transformers saves it: <c>vocab.json</c> (token → id, bytes spelled with GPT-2's byte-to-unicode
/// table), <c>merges.txt</c> (the 50,000 merges in rank order) and the two small configs, so that
/// <c>AutoTokenizer.from_pretrained</c> loads the folder. The merges are recovered from the ranked vocabulary we
/// tokenize with: replaying byte-pair merging on a token's bytes with only lower-ranked tokens leaves the two
/// tokens it was merged from.
/// </summary>
internal static class Gpt2TokenizerFiles
{
    public static readonly string[] FileNames = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

    public static void Write(string folder)
    {
        var tokens = Gpt2Tokenizer.Instance.TokenBytes;
        var unicode = ByteToUnicode();
        string Spell(ReadOnlySpan<byte> bytes)
        {
            var s = new StringBuilder(bytes.Length);
            foreach (byte b in bytes)
            {
                s.Append(unicode[b]);
            }

            return s.ToString();
        }

        // token bytes as Latin-1 strings: one char per byte, usable as dictionary keys
        var rank = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        var text = new string[tokens.Count];
        for (int id = 0; id < tokens.Count; id++)
        {
            text[id] = Encoding.Latin1.GetString(tokens[id].Span);
            rank[text[id]] = id;
        }

        AtomicFile.Write(Path.Combine(folder, "vocab.json"), stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            json.WriteStartObject();
            for (int id = 0; id < text.Length; id++)
            {
                json.WriteNumber(Spell(tokens[id].Span), id);
            }

            json.WriteNumber(Gpt2Tokenizer.EndOfTextText, Gpt2Tokenizer.EndOfText);
            json.WriteEndObject();
        });

        AtomicFile.Write(Path.Combine(folder, "merges.txt"), stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine("#version: 0.2");
            for (int id = 256; id < text.Length; id++)
            {
                var (left, right) = SplitOf(text[id], id, rank);
                writer.WriteLine($"{Spell(Encoding.Latin1.GetBytes(left))} {Spell(Encoding.Latin1.GetBytes(right))}");
            }
        });

        Gpt2HubConfig.WriteJson(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["model_max_length"] = Gpt2Config.Gpt2MaxSequenceLength,
            ["add_prefix_space"] = false,
            ["bos_token"] = Gpt2Tokenizer.EndOfTextText,
            ["eos_token"] = Gpt2Tokenizer.EndOfTextText,
            ["unk_token"] = Gpt2Tokenizer.EndOfTextText,
        });
        Gpt2HubConfig.WriteJson(Path.Combine(folder, "special_tokens_map.json"), new JsonObject
        {
            ["bos_token"] = Gpt2Tokenizer.EndOfTextText,
            ["eos_token"] = Gpt2Tokenizer.EndOfTextText,
            ["unk_token"] = Gpt2Tokenizer.EndOfTextText,
        });
    }

    /// <summary>Replays BPE on a token's bytes with merges ranked below it; what remains is the merge that made it.</summary>
    private static (string Left, string Right) SplitOf(string token, int id, Dictionary<string, int> rank)
    {
        var parts = token.Select(c => c.ToString()).ToList();
        while (parts.Count > 2)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (rank.TryGetValue(parts[i] + parts[i + 1], out int r) && r < id && r < bestRank)
                {
                    (best, bestRank) = (i, r);
                }
            }

            if (best < 0)
            {
                break;
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        return parts.Count == 2
            ? (parts[0], parts[1])
            : throw new InvalidOperationException($"Token {id} is not the merge of two lower-ranked tokens.");
    }

    /// <summary>GPT-2's printable spelling of each byte (bytes_to_unicode in its encoder.py).</summary>
    private static char[] ByteToUnicode()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
