namespace Gpt2.Backends;

/// <summary>How a model computes causal self-attention (<c>--attention</c>).</summary>
public enum AttentionKind
{
    /// <summary>
    /// Batched products and softmax kernels; keeps the (B,NH,T,T) probabilities for the backward. Every backend runs
    /// it, for any head size.
    /// </summary>
    Standard,

    /// <summary>
    /// FlashAttention-2 style: key/value tiles streamed past a tile of queries with an online softmax, keeping only
    /// the (B,NH,T) log-sum-exp of each score row; the backward recomputes the probabilities. Memory O(B·NH·T)
    /// beyond the inputs. Backends that run it say so through <see cref="ComputeBackend.Supports(AttentionKind)"/>.
    /// </summary>
    Flash,
}
