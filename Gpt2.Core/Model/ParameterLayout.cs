using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// The rows of GPT-2's parameter table (see <see cref="ParameterTable{T}"/>): name, offset, shape and element type of
/// each tensor in one flat buffer. The same layout describes the gradients and AdamW's moments.
/// </summary>
public sealed class ParameterLayout : ParameterTable<ParameterTensor>
{
    /// <summary>Builds the layout for a configuration.</summary>
    /// <param name="config">The model shape.</param>
    /// <param name="elementType">The parameters' element type; fp32 unless a backend trains in bf16.</param>
    public ParameterLayout(Gpt2Config config, ElementType elementType = ElementType.Float32)
        : base(config, elementType, row => row)
    {
    }

    /// <summary>Bytes of one buffer laid out by this table.</summary>
    public long Bytes => Count * ElementType.Size();
}
