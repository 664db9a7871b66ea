using Gpt2.HuggingFace;
using Gpt2.Text;
using Microsoft.ML.Tokenizers;

namespace Gpt2.Tests.HuggingFace;

public sealed class Gpt2TokenizerFilesTests : TempDirectoryTest
{
    [Test]
    public void TheWrittenVocabularyAndMergesTokenizeAsWeDo()
    {
        Gpt2TokenizerFiles.Write(TempDir);
        var merges = File.ReadAllLines(Path.Combine(TempDir, "merges.txt"));
        Assert.That(merges[0], Is.EqualTo("#version: 0.2"));
        Assert.That(merges, Has.Length.EqualTo(1 + 50000), "GPT-2's 50,000 merges");
        Assert.That(merges[1], Is.EqualTo("\u0120 t"), "the first merge is 'Ġ t', as in OpenAI's file");

        // an independent byte-level BPE built from the two files: same ids as our tokenizer
        using var vocab = File.OpenRead(Path.Combine(TempDir, "vocab.json"));
        using var mergesFile = File.OpenRead(Path.Combine(TempDir, "merges.txt"));
        var bpe = CodeGenTokenizer.Create(vocab, mergesFile);
        string shakespeare = string.Join("\n", File.ReadLines(TestData.TinyShakespeareText).Take(400));
        // no runs of spaces: CodeGen's tokenizer adds whitespace-run tokens beyond GPT-2's vocabulary
        foreach (string text in new[] { shakespeare, "naïve café — 東京 🙂 tabs\tand\r\n lines\n\n\nit's 1,234.5% <|end" })
        {
            Assert.That(bpe.EncodeToIds(text), Is.EqualTo(Gpt2Tokenizer.Instance.Encode(text)));
        }

        Assert.That(File.ReadAllText(Path.Combine(TempDir, "vocab.json")), Does.Contain("\"<|endoftext|>\":50256"));
        Assert.That(File.ReadAllText(Path.Combine(TempDir, "tokenizer_config.json")), Does.Contain("\"tokenizer_class\": \"GPT2Tokenizer\""));
    }
}
