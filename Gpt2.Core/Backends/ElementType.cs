namespace Gpt2.Backends;

/// <summary>The element type of a <see cref="DeviceBuffer"/>, as llm.c's <c>floatX</c> chooses fp32 or bf16 storage.</summary>
public enum ElementType
{
    /// <summary>IEEE float32; host type <see cref="float"/>.</summary>
    Float32,

    /// <summary>bfloat16, the upper half of a float32; host type <see cref="ushort"/> (see <see cref="Formats.BFloat16"/>).</summary>
    BFloat16,

    /// <summary>32-bit signed integers (token ids); host type <see cref="int"/>.</summary>
    Int32,
}

/// <summary>Sizes and host types of <see cref="ElementType"/>.</summary>
public static class ElementTypes
{
    /// <summary>Bytes per element.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>4 for fp32 and int32, 2 for bf16.</returns>
    public static int Size(this ElementType type) => type switch
    {
        ElementType.Float32 or ElementType.Int32 => 4,
        ElementType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>True for the floating-point types (fp32, bf16).</summary>
    /// <param name="type">The element type.</param>
    /// <returns>Whether the type holds real numbers.</returns>
    public static bool IsFloatingPoint(this ElementType type) => type is ElementType.Float32 or ElementType.BFloat16;

    /// <summary>The short name used in messages and options: fp32, bf16, int32.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>The name.</returns>
    public static string ShortName(this ElementType type) => type switch
    {
        ElementType.Float32 => "fp32",
        ElementType.BFloat16 => "bf16",
        ElementType.Int32 => "int32",
        _ => type.ToString(),
    };

    /// <summary>The element type whose host representation is <typeparamref name="T"/>.</summary>
    /// <typeparam name="T"><see cref="float"/>, <see cref="int"/> or <see cref="ushort"/> (bf16).</typeparam>
    /// <returns>The element type.</returns>
    /// <exception cref="NotSupportedException">No element type is held as <typeparamref name="T"/>.</exception>
    public static ElementType ForHostType<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? ElementType.Float32
        : typeof(T) == typeof(int) ? ElementType.Int32
        : typeof(T) == typeof(ushort) ? ElementType.BFloat16
        : throw new NotSupportedException($"{typeof(T).Name} is not the host type of any element type (float, int, ushort).");
}
