using System.Globalization;

namespace Gpt2;

/// <summary>
/// The shape of a GPT-2 model: the hyperparameters stored in an llm.c model file header.
/// </summary>
/// <remarks>
/// Legend used throughout the library: B batch size, T sequence length, C channels, NH heads,
/// hs = C / NH head size, L layers, V vocabulary size, Vp padded vocabulary size.
/// <para>Immutable: safe to share between threads.</para>
/// </remarks>
public sealed record Gpt2Config
{
    /// <summary>GPT-2's vocabulary size: 50,257 BPE tokens.</summary>
    public const int Gpt2VocabularySize = 50257;

    /// <summary>GPT-2's context length.</summary>
    public const int Gpt2MaxSequenceLength = 1024;

    /// <summary>Creates a configuration and validates it.</summary>
    /// <param name="maxSequenceLength">Maximum sequence length (maxT), the rows of wpe.</param>
    /// <param name="vocabularySize">Real vocabulary size V.</param>
    /// <param name="paddedVocabularySize">Padded vocabulary size Vp (the rows of wte), at least V.</param>
    /// <param name="layerCount">Number of transformer blocks L.</param>
    /// <param name="headCount">Number of attention heads NH; must divide C.</param>
    /// <param name="channelCount">Embedding width C.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive, Vp &lt; V, or NH does not divide C.</exception>
    public Gpt2Config(int maxSequenceLength, int vocabularySize, int paddedVocabularySize, int layerCount, int headCount, int channelCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channelCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(paddedVocabularySize, vocabularySize);
        if (channelCount % headCount != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(headCount), headCount,
                $"The head count must divide the channel count {channelCount}.");
        }

        MaxSequenceLength = maxSequenceLength;
        VocabularySize = vocabularySize;
        PaddedVocabularySize = paddedVocabularySize;
        LayerCount = layerCount;
        HeadCount = headCount;
        ChannelCount = channelCount;
    }

    /// <summary>Maximum sequence length maxT.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>Real vocabulary size V; only these columns of the logits enter the softmax.</summary>
    public int VocabularySize { get; }

    /// <summary>Padded vocabulary size Vp, the rows of the token embedding.</summary>
    public int PaddedVocabularySize { get; }

    /// <summary>Number of transformer blocks L.</summary>
    public int LayerCount { get; }

    /// <summary>Number of attention heads NH.</summary>
    public int HeadCount { get; }

    /// <summary>Embedding width C.</summary>
    public int ChannelCount { get; }

    /// <summary>
    /// Model FLOPs of one training token (forward and backward) at sequence length <paramref name="sequenceLength"/>:
    /// llm.c's count (6 per parameter plus 6·L·C·T for the attention's two products, the causal half) except that the
    /// position embedding, a lookup, is not counted. Multiplied by tokens/s and divided by a device's peak, it is MFU.
    /// </summary>
    /// <param name="sequenceLength">T.</param>
    /// <returns>FLOPs per token.</returns>
    public double TrainingFlopsPerToken(int sequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        double weights = new Model.ParameterLayout(this).Count - (double)MaxSequenceLength * ChannelCount;
        return 6 * weights + 6.0 * LayerCount * sequenceLength * ChannelCount;
    }

    /// <summary>Head size hs = C / NH.</summary>
    public int HeadSize => ChannelCount / HeadCount;

    /// <summary>
    /// Rounds a vocabulary size up to a multiple of 128, as llm.c does, so that the classifier
    /// matmul has friendly shapes (50,257 becomes 50,304).
    /// </summary>
    /// <param name="vocabularySize">The real vocabulary size.</param>
    /// <returns>The padded vocabulary size.</returns>
    public static int PadVocabulary(int vocabularySize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        return (vocabularySize + 127) / 128 * 128;
    }

    /// <summary>
    /// Builds a configuration from one of llm.c's model descriptors: <c>d12</c>, <c>d24</c>,
    /// <c>d36</c>, <c>d48</c> (GPT-2 124M, 350M, 774M, 1558M) or <c>gpt3:cN</c> (a GPT-3-style
    /// model of width N with 2048 context, and depth and head size from the GPT-3 paper's table), or, for small
    /// experiments, <c>L4H4C128</c> (layers, heads, channels, with GPT-2's vocabulary and 1024 context).
    /// </summary>
    /// <param name="descriptor">The descriptor.</param>
    /// <returns>The configuration, with GPT-2's vocabulary padded to 50,304.</returns>
    /// <exception cref="ArgumentException">The descriptor is not recognised.</exception>
    public static Gpt2Config FromDescriptor(string descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        int vp = PadVocabulary(Gpt2VocabularySize);
        switch (descriptor)
        {
            case "d12": return new Gpt2Config(Gpt2MaxSequenceLength, Gpt2VocabularySize, vp, 12, 12, 768);
            case "d24": return new Gpt2Config(Gpt2MaxSequenceLength, Gpt2VocabularySize, vp, 24, 16, 1024);
            case "d36": return new Gpt2Config(Gpt2MaxSequenceLength, Gpt2VocabularySize, vp, 36, 20, 1280);
            case "d48": return new Gpt2Config(Gpt2MaxSequenceLength, Gpt2VocabularySize, vp, 48, 25, 1600);
        }

        const string gpt3Prefix = "gpt3:c";
        if (descriptor.StartsWith(gpt3Prefix, StringComparison.Ordinal)
            && int.TryParse(descriptor.AsSpan(gpt3Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int channels))
        {
            // GPT-3 paper table 2.1 (depth and head size per width), as llm.c's train_gpt2.cu; dense attention.
            (int layers, int headSize) = channels switch
            {
                384 => (6, 64),
                768 => (12, 64),
                1024 => (24, 64),
                1536 => (24, 96),
                2048 => (24, 128),
                2560 => (32, 80),
                4096 => (32, 128),
                5120 => (40, 128),
                12288 => (96, 128),
                _ => throw new ArgumentException(
                    $"Unknown GPT-3 width in model descriptor '{descriptor}'; expected 384, 768, 1024, 1536, 2048, 2560, 4096, 5120 or 12288.",
                    nameof(descriptor)),
            };
            return new Gpt2Config(2048, Gpt2VocabularySize, vp, layers, channels / headSize, channels);
        }

        // our extension for small experiments: L<layers>H<heads>C<channels>, with GPT-2's vocabulary and context
        var m = System.Text.RegularExpressions.Regex.Match(descriptor, @"^L([0-9]{1,3})H([0-9]{1,3})C([0-9]{1,5})$");
        if (m.Success)
        {
            int l = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            int h = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            int c = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            if (l > 0 && h > 0 && c > 0 && c % h == 0)
            {
                return new Gpt2Config(Gpt2MaxSequenceLength, Gpt2VocabularySize, vp, l, h, c);
            }
        }

        throw new ArgumentException(
            $"Unknown model descriptor '{descriptor}'; expected d12, d24, d36, d48, gpt3:cN or L<layers>H<heads>C<channels> (heads dividing channels).",
            nameof(descriptor));
    }
}
