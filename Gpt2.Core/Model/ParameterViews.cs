using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>
/// Views into a flat buffer laid out as a <see cref="ParameterLayout"/> (parameters, gradients or moments), one per
/// row, with the row's shape: <c>views.QkvWeight</c> is (L, 3C, C) and <c>views.QkvWeight[l]</c> layer l's (3C, C).
/// </summary>
/// <remarks>Immutable after construction: safe to read from any thread (the tensors it lists follow their backend's rules).</remarks>
public sealed class ParameterViews : ParameterTable<DeviceTensor>
{
    /// <summary>Wraps a buffer.</summary>
    /// <param name="layout">The layout.</param>
    /// <param name="buffer">A buffer of <see cref="ParameterTable{T}.Count"/> elements of the layout's element type.</param>
    public ParameterViews(ParameterLayout layout, DeviceBuffer buffer)
        : base(Checked(layout, buffer).Config, layout.ElementType, row => buffer.Tensor.View(row.Offset, row.Shape))
    {
        Layout = layout;
        All = buffer.Tensor.View(0, [checked((int)layout.Count)]);
    }

    /// <summary>The layout.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>The whole buffer, as a vector of <see cref="ParameterTable{T}.Count"/> elements.</summary>
    public DeviceTensor All { get; }

    /// <summary>The view of a row of the layout.</summary>
    /// <param name="tensor">A row of this layout.</param>
    /// <returns>The view.</returns>
    public DeviceTensor Of(ParameterTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return All.View(tensor.Offset, tensor.Shape);
    }

    private static ParameterLayout Checked(ParameterLayout layout, DeviceBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length != layout.Count || buffer.ElementType != layout.ElementType)
        {
            throw new ArgumentException($"Expected a buffer of {layout.Count} {layout.ElementType.ShortName()} elements, got {buffer.Length} {buffer.ElementType.ShortName()}.", nameof(buffer));
        }

        return layout;
    }
}
