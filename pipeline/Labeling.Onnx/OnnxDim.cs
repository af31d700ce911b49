namespace Labeling.Onnx;

/// <summary>
/// One dimension of a graph input or output: fixed (<c>3</c>), symbolic (<c>"batch"</c>), or unknown
/// (<c>default</c>). Converts implicitly from <see cref="long"/> and <see cref="string"/>.
/// </summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? value, string? param)
    {
        Value = value;
        Param = param;
    }

    /// <summary>The fixed size, or null for a symbolic or unknown dimension.</summary>
    public long? Value { get; }

    /// <summary>The symbolic name, or null for a fixed or unknown dimension.</summary>
    public string? Param { get; }

    /// <summary>A fixed, non-negative size.</summary>
    public static OnnxDim Fixed(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new OnnxDim(value, null);
    }

    /// <summary>A named symbolic size, shared by every dimension with the same name.</summary>
    public static OnnxDim Symbolic(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new OnnxDim(null, name);
    }

    public static implicit operator OnnxDim(long value) => Fixed(value);

    public static implicit operator OnnxDim(string name) => Symbolic(name);

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Param ?? "?";
}
