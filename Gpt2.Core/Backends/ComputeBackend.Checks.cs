namespace Gpt2.Backends;

/// <summary>The argument checks of every op, run once at the seam so that every backend gives the same error, naming the parameter.</summary>
public abstract partial class ComputeBackend
{
    private void CheckSupported(ElementType type, string name)
    {
        if (!Supports(type))
        {
            throw new NotSupportedException($"The {Name} backend does not implement {type.ShortName()} tensors ({name}).");
        }
    }

    private void Owned(DeviceTensor tensor, string name)
    {
        if (tensor.Buffer is null)
        {
            throw new ArgumentException("No tensor was given.", name);
        }

        if (!ReferenceEquals(tensor.Buffer.Backend, this))
        {
            throw new ArgumentException($"The tensor belongs to the {tensor.Buffer.Backend.Name} backend, not to this {Name} backend.", name);
        }

        ObjectDisposedException.ThrowIf(tensor.Buffer.IsDisposed, tensor.Buffer);
    }

    /// <summary>A floating-point tensor of a type this backend implements, of exactly these dimensions.</summary>
    private void Real(DeviceTensor tensor, string name, ReadOnlySpan<int> dimensions)
    {
        Real(tensor, name);
        if (!tensor.Shape.Dimensions.SequenceEqual(dimensions))
        {
            throw new ArgumentException($"Expected shape ({string.Join(", ", dimensions.ToArray())}), got {tensor.Shape}.", name);
        }
    }

    /// <summary>A floating-point tensor of a type this backend implements.</summary>
    private void Real(DeviceTensor tensor, string name)
    {
        Owned(tensor, name);
        if (!tensor.ElementType.IsFloatingPoint())
        {
            throw new ArgumentException($"Expected a floating-point tensor, got {tensor}.", name);
        }

        CheckSupported(tensor.ElementType, name);
    }

    private void Fp32(DeviceTensor tensor, string name)
    {
        Owned(tensor, name);
        if (tensor.ElementType != ElementType.Float32)
        {
            throw new ArgumentException($"Expected an fp32 tensor, got {tensor}.", name);
        }
    }

    private void Int32(DeviceTensor tensor, string name)
    {
        Owned(tensor, name);
        if (tensor.ElementType != ElementType.Int32)
        {
            throw new ArgumentException($"Expected an int32 tensor, got {tensor}.", name);
        }
    }

    private void CheckHost<T>(DeviceTensor tensor, long hostLength, string name) where T : unmanaged
    {
        Owned(tensor, name);
        SameType(tensor, ElementTypes.ForHostType<T>(), name);
        SameLength(tensor, hostLength, name);
    }

    private static void SameType(DeviceTensor tensor, ElementType type, string name)
    {
        if (tensor.ElementType != type)
        {
            throw new ArgumentException($"Expected {type.ShortName()} elements, got {tensor}.", name);
        }
    }

    private static void SameLength(DeviceTensor tensor, long length, string name)
    {
        if (tensor.Length != length)
        {
            throw new ArgumentException($"Expected {length} elements, got {tensor.Length} ({tensor.Shape}).", name);
        }
    }

    private static void SameRows(DeviceTensor tensor, long rows, int columns, string name)
    {
        if (tensor.Shape.Last != columns || tensor.Shape.Rows != rows)
        {
            throw new ArgumentException($"Expected {rows} rows of {columns} columns, got {tensor.Shape}.", name);
        }
    }

    private static void Rank(DeviceTensor tensor, int rank, string name)
    {
        if (tensor.Shape.Rank != rank)
        {
            throw new ArgumentException($"Expected a rank-{rank} tensor, got {tensor.Shape}.", name);
        }
    }

    private static int ThirdOf(int threeC, string name) =>
        threeC % 3 == 0 ? threeC / 3 : throw new ArgumentException($"The last dimension {threeC} is not 3C.", name);

    private static void CheckHeads(int channels, int heads)
    {
        if (heads <= 0 || channels % heads != 0)
        {
            throw new ArgumentException($"The head count {heads} must divide the channel count {channels}.", nameof(heads));
        }
    }

    private (int B, int T, int C) CheckEncoder(DeviceTensor tokens, DeviceTensor wte, DeviceTensor wpe, string wteName, string wpeName)
    {
        Int32(tokens, nameof(tokens));
        Rank(tokens, 2, nameof(tokens));
        Real(wte, wteName);
        Rank(wte, 2, wteName);
        int b = tokens.Shape[0], t = tokens.Shape[1], c = wte.Shape[1];
        Real(wpe, wpeName);
        Rank(wpe, 2, wpeName);
        if (wpe.Shape[1] != c || wpe.Shape[0] < t)
        {
            throw new ArgumentException($"Expected at least {t} positions of {c} channels, got {wpe.Shape}.", wpeName);
        }

        return (b, t, c);
    }

    private void CheckLayerNorm(DeviceTensor input, DeviceTensor weight, DeviceTensor mean, DeviceTensor reciprocalStd)
    {
        Real(weight, nameof(weight));
        Rank(weight, 1, nameof(weight));
        Real(input, nameof(input));
        if (input.Shape.Rank < 1 || input.Shape.Last != weight.Length)
        {
            throw new ArgumentException($"Expected rows of {weight.Length} channels, got {input.Shape}.", nameof(input));
        }

        Fp32(mean, nameof(mean));
        SameLength(mean, input.Shape.Rows, nameof(mean));
        Fp32(reciprocalStd, nameof(reciprocalStd));
        SameLength(reciprocalStd, input.Shape.Rows, nameof(reciprocalStd));
    }

    private (long Rows, int C, int OC) CheckMatmul(DeviceTensor input, DeviceTensor weight)
    {
        Real(weight, nameof(weight));
        Rank(weight, 2, nameof(weight));
        int oc = weight.Shape[0], c = weight.Shape[1];
        Real(input, nameof(input));
        if (input.Shape.Rank < 1 || input.Shape.Last != c)
        {
            throw new ArgumentException($"Expected rows of {c} channels (the weight is {weight.Shape}), got {input.Shape}.", nameof(input));
        }

        return (input.Shape.Rows, c, oc);
    }

    private (int B, int T, int C) CheckAttention(DeviceTensor qkv, DeviceTensor attention)
    {
        Real(qkv, nameof(qkv));
        Rank(qkv, 3, nameof(qkv));
        int b = qkv.Shape[0], t = qkv.Shape[1], c = ThirdOf(qkv.Shape[2], nameof(qkv));
        Real(attention, nameof(attention));
        Rank(attention, 4, nameof(attention));
        int heads = attention.Shape[1];
        CheckHeads(c, heads);
        Real(attention, nameof(attention), [b, heads, t, t]);
        return (b, t, c);
    }

    private (int B, int T, int C) CheckFlashAttention(DeviceTensor qkv, DeviceTensor logSumExp)
    {
        Real(qkv, nameof(qkv));
        Rank(qkv, 3, nameof(qkv));
        int b = qkv.Shape[0], t = qkv.Shape[1], c = ThirdOf(qkv.Shape[2], nameof(qkv));
        Fp32(logSumExp, nameof(logSumExp));
        Rank(logSumExp, 3, nameof(logSumExp));
        int heads = logSumExp.Shape[1];
        CheckHeads(c, heads);
        if (logSumExp.Shape[0] != b || logSumExp.Shape[2] != t)
        {
            throw new ArgumentException($"Expected ({b}, {heads}, {t}), got {logSumExp.Shape}.", nameof(logSumExp));
        }

        if (!Supports(AttentionKind.Flash))
        {
            throw new NotSupportedException($"The {Name} backend has no flash attention; use standard attention.");
        }

        return (b, t, c);
    }

    private void CheckSoftmax(DeviceTensor scores, string scoresName, DeviceTensor targets, int vocabularySize)
    {
        Real(scores, scoresName);
        int vp = scores.Shape.Last;
        if (vocabularySize <= 0 || vocabularySize > vp)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, $"V must be in [1, Vp = {vp}].");
        }

        Int32(targets, nameof(targets));
        SameLength(targets, scores.Shape.Rows, nameof(targets));
        if (this is IHostMemoryBackend host)
        {
            // reading device memory would cost a copy; host memory is checked where it lies
            var t = host.GetHostSpan<int>(targets);
            for (int i = 0; i < t.Length; i++)
            {
                if ((uint)t[i] >= (uint)vocabularySize)
                {
                    throw new ArgumentOutOfRangeException(nameof(targets), t[i], $"Target at index {i} is outside the vocabulary [0, {vocabularySize}).");
                }
            }
        }
    }
}
