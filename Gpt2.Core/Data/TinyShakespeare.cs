using Gpt2.Formats;
using Gpt2.IO;
using Gpt2.Text;

namespace Gpt2.Data;

/// <summary>TinyShakespeare, tokenized exactly as llm.c's dev/data/tinyshakespeare.py.</summary>
public static class TinyShakespeare
{
    /// <summary>The public URL of the text (Andrej Karpathy's char-rnn repository).</summary>
    public const string Url = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";

    /// <summary>Tokens in the validation split: the first 32,768.</summary>
    public const int ValidationTokens = 32768;

    /// <summary>File name of the validation shard that <see cref="PrepareAsync"/> writes.</summary>
    public const string ValidationFileName = "tiny_shakespeare_val.bin";

    /// <summary>File name of the training shard that <see cref="PrepareAsync"/> writes.</summary>
    public const string TrainFileName = "tiny_shakespeare_train.bin";

    /// <summary>
    /// Writes <see cref="ValidationFileName"/> (32,768 tokens) and <see cref="TrainFileName"/> (305,260 tokens) into
    /// a folder, atomically. The text is read from <paramref name="textFile"/> when given; otherwise it is downloaded
    /// from <see cref="Url"/> once and kept as <c>tiny_shakespeare.txt</c> in the folder.
    /// </summary>
    /// <param name="directory">Folder for the shards (created when missing).</param>
    /// <param name="textFile">A local copy of the text, or null to download it.</param>
    /// <param name="progress">Receives download progress lines.</param>
    /// <param name="cancellation">Cancels the download.</param>
    /// <returns>Validation and training shard paths.</returns>
    /// <exception cref="FileNotFoundException"><paramref name="textFile"/> does not exist.</exception>
    /// <exception cref="DownloadException">The download failed.</exception>
    public static async Task<(string Validation, string Train)> PrepareAsync(string directory, string? textFile = null,
        IProgress<ProgressReport>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (textFile is not null && !File.Exists(textFile))
        {
            throw new FileNotFoundException($"TinyShakespeare text not found: {textFile}", textFile);
        }

        if (textFile is null)
        {
            textFile = Path.Combine(directory, "tiny_shakespeare.txt");
            if (!File.Exists(textFile))
            {
                progress?.Report($"downloading {Url}");
                await Downloader.DownloadAsync(Url, textFile, progress, cancellation).ConfigureAwait(false);
            }
        }

        string text = await File.ReadAllTextAsync(textFile, cancellation).ConfigureAwait(false);
        var (val, train) = Tokenize(text, Gpt2Tokenizer.Instance);
        string valPath = Path.Combine(directory, ValidationFileName);
        string trainPath = Path.Combine(directory, TrainFileName);
        TokenShard.Write(valPath, val);
        TokenShard.Write(trainPath, train);
        return (valPath, trainPath);
    }

    /// <summary>
    /// Splits the text on blank lines ("\n\n"), puts the end-of-text token before each section, re-appends "\n\n" to
    /// every section but the last (as llm.c does for compatibility), and returns the first 32,768 tokens as the
    /// validation split and the rest as training.
    /// </summary>
    /// <param name="text">The whole TinyShakespeare text.</param>
    /// <param name="tokenizer">The GPT-2 tokenizer.</param>
    /// <returns>Validation and training tokens.</returns>
    public static (ushort[] Validation, ushort[] Train) Tokenize(string text, Gpt2Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizer);
        string[] sections = text.Split("\n\n");
        var tokens = new List<ushort>(text.Length / 3);
        for (int i = 0; i < sections.Length; i++)
        {
            tokenizer.AppendDocument(i != sections.Length - 1 ? sections[i] + "\n\n" : sections[i], tokens);
        }

        int split = Math.Min(ValidationTokens, tokens.Count);
        return ([.. tokens.GetRange(0, split)], [.. tokens.GetRange(split, tokens.Count - split)]);
    }
}
