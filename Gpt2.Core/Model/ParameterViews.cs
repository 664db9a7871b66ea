using Gpt2.Backends;

namespace Gpt2.Model;

/// <summary>Named views into a flat buffer laid out as <see cref="ParameterLayout"/> (parameters, gradients or moments).</summary>
public sealed class ParameterViews
{
    private readonly DeviceBuffer<float> _buffer;

    /// <summary>Wraps a buffer.</summary>
    /// <param name="layout">The layout.</param>
    /// <param name="buffer">A buffer of <see cref="ParameterLayout.Count"/> elements.</param>
    public ParameterViews(ParameterLayout layout, DeviceBuffer<float> buffer)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length != layout.Count)
        {
            throw new ArgumentException($"Expected a buffer of {layout.Count} elements, got {buffer.Length}.", nameof(buffer));
        }

        Layout = layout;
        _buffer = buffer;
    }

    /// <summary>The layout.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>The whole buffer.</summary>
    public DeviceView<float> All => _buffer.View;

    /// <summary>wte (Vp,C).</summary>
    public DeviceView<float> TokenEmbedding => Of(Layout.TokenEmbedding);

    /// <summary>wpe (maxT,C).</summary>
    public DeviceView<float> PositionEmbedding => Of(Layout.PositionEmbedding);

    /// <summary>lnfw (C).</summary>
    public DeviceView<float> LnfWeight => Of(Layout.LnfWeight);

    /// <summary>lnfb (C).</summary>
    public DeviceView<float> LnfBias => Of(Layout.LnfBias);

    /// <summary>The view of a whole tensor.</summary>
    /// <param name="tensor">A tensor of this layout.</param>
    /// <returns>The view.</returns>
    public DeviceView<float> Of(ParameterTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return _buffer.Slice(tensor.Offset, tensor.Length);
    }

    /// <summary>The views of one transformer block.</summary>
    /// <param name="layer">Block index in [0, L).</param>
    /// <returns>The block's views.</returns>
    public LayerViews Layer(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Layout.Config.LayerCount);
        return new LayerViews(this, layer);
    }

    internal DeviceView<float> OfLayer(ParameterTensor tensor, int layer) =>
        _buffer.Slice(tensor.Offset + layer * tensor.LayerLength, tensor.LayerLength);
}

/// <summary>The views of one transformer block's tensors.</summary>
public readonly struct LayerViews
{
    private readonly ParameterViews _views;
    private readonly int _layer;

    internal LayerViews(ParameterViews views, int layer)
    {
        _views = views;
        _layer = layer;
    }

    private ParameterLayout L => _views.Layout;

    /// <summary>ln1w (C).</summary>
    public DeviceView<float> Ln1Weight => _views.OfLayer(L.Ln1Weight, _layer);

    /// <summary>ln1b (C).</summary>
    public DeviceView<float> Ln1Bias => _views.OfLayer(L.Ln1Bias, _layer);

    /// <summary>qkvw (3C,C).</summary>
    public DeviceView<float> QkvWeight => _views.OfLayer(L.QkvWeight, _layer);

    /// <summary>qkvb (3C).</summary>
    public DeviceView<float> QkvBias => _views.OfLayer(L.QkvBias, _layer);

    /// <summary>attprojw (C,C).</summary>
    public DeviceView<float> AttentionProjectionWeight => _views.OfLayer(L.AttentionProjectionWeight, _layer);

    /// <summary>attprojb (C).</summary>
    public DeviceView<float> AttentionProjectionBias => _views.OfLayer(L.AttentionProjectionBias, _layer);

    /// <summary>ln2w (C).</summary>
    public DeviceView<float> Ln2Weight => _views.OfLayer(L.Ln2Weight, _layer);

    /// <summary>ln2b (C).</summary>
    public DeviceView<float> Ln2Bias => _views.OfLayer(L.Ln2Bias, _layer);

    /// <summary>fcw (4C,C).</summary>
    public DeviceView<float> FcWeight => _views.OfLayer(L.FcWeight, _layer);

    /// <summary>fcb (4C).</summary>
    public DeviceView<float> FcBias => _views.OfLayer(L.FcBias, _layer);

    /// <summary>fcprojw (C,4C).</summary>
    public DeviceView<float> FcProjectionWeight => _views.OfLayer(L.FcProjectionWeight, _layer);

    /// <summary>fcprojb (C).</summary>
    public DeviceView<float> FcProjectionBias => _views.OfLayer(L.FcProjectionBias, _layer);
}
