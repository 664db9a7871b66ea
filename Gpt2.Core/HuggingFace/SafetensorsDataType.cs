namespace Gpt2.HuggingFace;

/// <summary>The element types the safetensors format defines (its <c>dtype</c> strings).</summary>
public enum SafetensorsDataType
{
    /// <summary><c>BOOL</c>: one byte.</summary>
    Bool,

    /// <summary><c>U8</c>.</summary>
    UInt8,

    /// <summary><c>I8</c>.</summary>
    Int8,

    /// <summary><c>F8_E4M3</c>: 8-bit float, 4 exponent bits.</summary>
    Float8E4M3,

    /// <summary><c>F8_E5M2</c>: 8-bit float, 5 exponent bits.</summary>
    Float8E5M2,

    /// <summary><c>I16</c>.</summary>
    Int16,

    /// <summary><c>U16</c>.</summary>
    UInt16,

    /// <summary><c>F16</c>: IEEE half precision.</summary>
    Float16,

    /// <summary><c>BF16</c>: bfloat16, the upper half of a float32.</summary>
    BFloat16,

    /// <summary><c>I32</c>.</summary>
    Int32,

    /// <summary><c>U32</c>.</summary>
    UInt32,

    /// <summary><c>F32</c>.</summary>
    Float32,

    /// <summary><c>I64</c>.</summary>
    Int64,

    /// <summary><c>U64</c>.</summary>
    UInt64,

    /// <summary><c>F64</c>.</summary>
    Float64,
}

/// <summary>The safetensors names and sizes of <see cref="SafetensorsDataType"/>.</summary>
public static class SafetensorsDataTypes
{
    private static readonly string[] Names =
        ["BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "I64", "U64", "F64"];

    /// <summary>Bytes per element.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>1, 2, 4 or 8.</returns>
    public static int Size(this SafetensorsDataType type) => type switch
    {
        SafetensorsDataType.Bool or SafetensorsDataType.UInt8 or SafetensorsDataType.Int8
            or SafetensorsDataType.Float8E4M3 or SafetensorsDataType.Float8E5M2 => 1,
        SafetensorsDataType.Int16 or SafetensorsDataType.UInt16 or SafetensorsDataType.Float16 or SafetensorsDataType.BFloat16 => 2,
        SafetensorsDataType.Int32 or SafetensorsDataType.UInt32 or SafetensorsDataType.Float32 => 4,
        SafetensorsDataType.Int64 or SafetensorsDataType.UInt64 or SafetensorsDataType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown safetensors element type."),
    };

    /// <summary>The <c>dtype</c> string the format stores, for example <c>BF16</c>.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>The string.</returns>
    public static string FormatName(this SafetensorsDataType type) =>
        (uint)type < (uint)Names.Length ? Names[(int)type] : throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown safetensors element type.");

    /// <summary>Parses a <c>dtype</c> string.</summary>
    /// <param name="name">The string, for example <c>F32</c>.</param>
    /// <param name="type">The element type, when known.</param>
    /// <returns>True when the format defines the name.</returns>
    public static bool TryParse(string? name, out SafetensorsDataType type)
    {
        int i = Array.IndexOf(Names, name);
        type = (SafetensorsDataType)Math.Max(i, 0);
        return i >= 0;
    }
}
