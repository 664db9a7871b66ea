using System.Text.Json.Nodes;
using Gpt2.Formats;
using Gpt2.HuggingFace;
using Gpt2.Model;

namespace Gpt2.Tests.HuggingFace;

/// <summary>
/// Import against the llm.c files tools/huggingface/make_fixtures.py writes beside each transformers-layout fixture
/// (hub-f32: no prefix, mask buffers, no head; prefixed-bf16: save_pretrained's prefix with the tied head written
/// out; prefixed-f16), and export back.
/// </summary>
public sealed class HuggingFaceModelTests : TempDirectoryTest
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "huggingface", name);

    [TestCase("hub-f32", ModelFileFormat.Float32, "expected.bin")]
    [TestCase("hub-f32", ModelFileFormat.BFloat16, "expected_bf16.bin")]
    [TestCase("prefixed-bf16", ModelFileFormat.Float32, "expected.bin")]
    [TestCase("prefixed-f16", ModelFileFormat.Float32, "expected.bin")]
    public void ImportEqualsLlmcsConversionBitForBit(string fixture, ModelFileFormat format, string expected)
    {
        string output = Path.Combine(TempDir, "model.bin");
        var config = HuggingFaceModel.Import(Fixture(fixture), output, format);
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(Path.Combine(Fixture(fixture), expected))));
        Assert.That(config, Is.EqualTo(ModelFile.ReadHeader(output).Config));
        Assert.That(Directory.GetFiles(TempDir), Has.Length.EqualTo(1), "no temporary file is left");
    }

    [Test]
    public void ASafetensorsFileWithConfigBesideItImportsToo()
    {
        string output = Path.Combine(TempDir, "model.bin");
        HuggingFaceModel.Import(Path.Combine(Fixture("prefixed-f16"), "model.safetensors"), output);
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(Path.Combine(Fixture("prefixed-f16"), "expected.bin"))));
    }

    [TestCase(SafetensorsDataType.Float32, "expected.bin")]
    [TestCase(SafetensorsDataType.BFloat16, "expected_bf16.bin")]
    public void ExportRoundTripsEveryTensorExactly(SafetensorsDataType type, string source)
    {
        string model = Path.Combine(Fixture("hub-f32"), source);
        string folder = Path.Combine(TempDir, "hf");
        HuggingFaceModel.Export(model, folder, type);

        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName).Order(), Is.EqualTo(new[]
        {
            "config.json", "generation_config.json", "merges.txt", "model.safetensors", "special_tokens_map.json", "tokenizer_config.json", "vocab.json",
        }));
        Assert.That(Directory.GetDirectories(TempDir), Is.EqualTo(new[] { folder }), "the temporary folder is gone");
        using (var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors")))
        {
            Assert.That(file.Metadata["format"], Is.EqualTo("pt"), "transformers refuses safetensors without it");
            Assert.That(file.Tensors, Has.Count.EqualTo(2 + 2 * 12 + 2));
            Assert.That(file.Tensors, Has.All.Matches<SafetensorsTensor>(t => t.DataType == type && t.Name.StartsWith("transformer.", StringComparison.Ordinal)));
            Assert.That(file.TryGetTensor("transformer.wte.weight", out var wte) && wte!.Shape.SequenceEqual([61L, 12L]), "padding rows dropped");
            Assert.That(file.TryGetTensor("transformer.h.1.mlp.c_fc.weight", out var fc) && fc!.Shape.SequenceEqual([12L, 48L]), "Conv1D (in, out)");
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.That((int)config["n_head"]!, Is.EqualTo(3));
        Assert.That((string)config["torch_dtype"]!, Is.EqualTo(type == SafetensorsDataType.Float32 ? "float32" : "bfloat16"));

        string back = Path.Combine(TempDir, "back.bin");
        HuggingFaceModel.Import(folder, back, type == SafetensorsDataType.Float32 ? ModelFileFormat.Float32 : ModelFileFormat.BFloat16);
        Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(model)));
    }

    [Test]
    public void ExportOfATrainedModelRoundTripsAllButThePadding()
    {
        // "hot" was trained with nonzero padding rows; transformers' wte has none, so they come back as zeros
        string model = TestData.Fixture("hot", "model_final.bin");
        string folder = Path.Combine(TempDir, "hf");
        HuggingFaceModel.Export(model, folder);
        string back = Path.Combine(TempDir, "back.bin");
        HuggingFaceModel.Import(folder, back);
        var (config, _, original) = ModelFile.Read(model);
        var (_, _, imported) = ModelFile.Read(back);
        int v = config.VocabularySize * config.ChannelCount, vp = config.PaddedVocabularySize * config.ChannelCount;
        Assert.That(original[v..vp], Has.Some.Not.Zero, "the fixture's padding is hot");
        Assert.That(imported[v..vp], Has.All.Zero);
        original.AsSpan(v, vp - v).Clear();
        Assert.That(imported, Is.EqualTo(original));
    }

    /// <summary>A copy of a fixture folder, its safetensors rebuilt by <paramref name="edit"/> over (key → tensor values).</summary>
    private string Edited(string fixture, Action<Dictionary<string, (SafetensorsDataType Type, long[] Shape, float[] Values)>> edit, Action<JsonObject>? editConfig = null)
    {
        string folder = Path.Combine(TempDir, "edited");
        Directory.CreateDirectory(folder);
        var tensors = new Dictionary<string, (SafetensorsDataType, long[], float[])>();
        using (var file = SafetensorsFile.Open(Path.Combine(Fixture(fixture), "model.safetensors")))
        {
            foreach (var t in file.Tensors)
            {
                var v = new float[t.ElementCount];
                file.ReadSingle(t, v);
                tensors[t.Name] = (SafetensorsDataType.Float32, t.Shape.ToArray(), v);
            }
        }

        edit(tensors);
        var entries = tensors.Select(kv => new SafetensorsWriter.Entry(kv.Key, kv.Value.Item1, kv.Value.Item2)).ToList();
        var values = tensors.Values.Select(v => v.Item3).ToList();
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), entries, new Dictionary<string, string>(), (i, s) =>
            s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values[i].AsSpan())));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(fixture), "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        return folder;
    }

    private void Refused(string folder, string problem)
    {
        string output = Path.Combine(TempDir, "out.bin");
        var e = Assert.Catch<IOException>(() => HuggingFaceModel.Import(folder, output));
        Assert.That(e!.Message, Does.Contain(problem));
        Assert.That(File.Exists(output), Is.False, "nothing is written");
        Assert.That(Directory.GetFiles(TempDir), Is.Empty, "no temporary file is left");
    }

    [Test]
    public void AMissingTensorIsNamed() =>
        Refused(Edited("prefixed-f16", t => t.Remove("transformer.h.0.mlp.c_proj.bias")), "tensor 'h.0.mlp.c_proj.bias' is missing");

    [Test]
    public void AnExtraTensorIsNamed() =>
        Refused(Edited("prefixed-f16", t => t["transformer.h.0.adapter.weight"] = (SafetensorsDataType.Float32, [2], [1f, 2f])), "unexpected tensor 'transformer.h.0.adapter.weight'");

    [Test]
    public void AWrongShapeIsNamed() =>
        Refused(Edited("prefixed-f16", t => t["transformer.h.0.attn.c_attn.weight"] = (SafetensorsDataType.Float32, [12, 4], new float[48])),
            "tensor 'transformer.h.0.attn.c_attn.weight' has shape (12, 4), but config.json implies (4, 12)");

    [Test]
    public void AnUntiedHeadIsRefused() =>
        Refused(Edited("prefixed-bf16", t =>
        {
            var head = t["lm_head.weight"];
            var changed = (float[])head.Values.Clone();
            changed[7] += 1;
            t["lm_head.weight"] = (head.Type, head.Shape, changed);
        }), "tensor 'lm_head.weight' differs from wte");

    [Test]
    public void AKeyWithAndWithoutThePrefixIsRefused() =>
        Refused(Edited("prefixed-f16", t => t["ln_f.bias"] = t["transformer.ln_f.bias"]), "appears both with and without");

    [Test]
    public void AnIntegerTensorIsRefused() =>
        Refused(Edited("prefixed-f16", t => t["transformer.ln_f.bias"] = (SafetensorsDataType.Int32, [4], new float[4])), "tensor 'transformer.ln_f.bias' is I32");

    [TestCase("activation_function", "relu", "'activation_function' is \"relu\": not GPT-2's tanh GELU")]
    [TestCase("n_inner", 7, "'n_inner' is 7: the MLP must be 4 x n_embd = 16 wide")]
    [TestCase("layer_norm_epsilon", 1e-6, "'layer_norm_epsilon' is 1E-06: not 1e-5")]
    [TestCase("n_head", 3, "n_embd 4 / n_head 3")]
    [TestCase("n_layer", 2, "tensor 'h.1.ln_1.weight' is missing (config.json describes 2 layers)")]
    [TestCase("n_embd", "four", "'n_embd' is \"four\", not a positive integer")]
    [TestCase("tie_word_embeddings", false, "llm.c ties the classifier to wte")]
    public void AConfigLlmcCannotHoldIsRefused(string key, object value, string problem) =>
        Refused(Edited("prefixed-f16", _ => { }, c => c[key] = JsonValue.Create(value)), problem);

    [Test]
    public void MissingFilesAreNamed()
    {
        string folder = Edited("prefixed-f16", _ => { });
        File.Delete(Path.Combine(folder, "config.json"));
        Refused(folder, "config.json not found");
        Assert.Throws<FileNotFoundException>(() => HuggingFaceModel.Import(Path.Combine(TempDir, "absent"), Path.Combine(TempDir, "o.bin")));
        Directory.CreateDirectory(Path.Combine(TempDir, "empty"));
        Assert.That(Assert.Throws<FileNotFoundException>(() => HuggingFaceModel.Import(Path.Combine(TempDir, "empty"), Path.Combine(TempDir, "o.bin")))!.Message,
            Does.Contain("model.safetensors not found"));
    }

    [Test]
    public void ExportOfAMalformedModelWritesNothing()
    {
        string bad = Path.Combine(TempDir, "bad.bin");
        File.WriteAllBytes(bad, File.ReadAllBytes(TestData.Fixture("tiny", "model.bin"))[..2000]);
        string folder = Path.Combine(TempDir, "hf");
        Assert.Throws<FileFormatException>(() => HuggingFaceModel.Export(bad, folder));
        Assert.That(Directory.GetDirectories(TempDir), Is.Empty, "no folder, not even a temporary one");
    }

    [Test]
    public void TheParameterTableMapsOneToOneOntoTransformersKeys()
    {
        var layout = new ParameterLayout(Gpt2Config.FromDescriptor("d12"));
        var keys = layout.Tensors.SelectMany(r => Enumerable.Range(0, r.IsPerLayer ? 12 : 1).Select(l => Gpt2Keys.Of(r, l))).ToList();
        Assert.That(keys, Has.Count.EqualTo(2 + 12 * 12 + 2).And.Unique);
        Assert.That(keys, Does.Contain("h.11.mlp.c_proj.weight").And.Contain("ln_f.bias"));
        Assert.That(Gpt2Keys.ShapeOf(layout.QkvWeight, layout.Config), Is.EqualTo(new long[] { 768, 2304 }));
        Assert.That(Gpt2Keys.ShapeOf(layout.TokenEmbedding, layout.Config), Is.EqualTo(new long[] { 50257, 768 }));
    }
}
