using System.Text;
using Google.Protobuf;
using Labeling.Onnx.Proto;

namespace Labeling.Onnx;

/// <summary>
/// A node attribute. The factories always set <c>AttributeProto.type</c> and mark the value as
/// present, so default values (0, 0.0, "") survive proto3 serialisation and runtimes read them.
/// </summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    /// <summary>The attribute name.</summary>
    public string Name => Proto.Name;

    internal AttributeProto Proto { get; }

    /// <summary>A copy of the underlying protobuf message.</summary>
    public AttributeProto ToProto() => Proto.Clone();

    public static OnnxAttribute Int(string name, long value) =>
        Create(name, AttributeProto.Types.AttributeType.Int, a => a.I = value);

    public static OnnxAttribute Float(string name, float value) =>
        Create(name, AttributeProto.Types.AttributeType.Float, a => a.F = value);

    public static OnnxAttribute String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Create(name, AttributeProto.Types.AttributeType.String, a => a.S = ByteString.CopyFromUtf8(value));
    }

    public static OnnxAttribute Ints(string name, params long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Create(name, AttributeProto.Types.AttributeType.Ints, a => a.Ints.AddRange(values));
    }

    public static OnnxAttribute Floats(string name, params float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Create(name, AttributeProto.Types.AttributeType.Floats, a => a.Floats.AddRange(values));
    }

    public static OnnxAttribute Strings(string name, params string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Create(name, AttributeProto.Types.AttributeType.Strings,
            a => a.Strings.AddRange(values.Select(v => ByteString.CopyFrom(v, Encoding.UTF8))));
    }

    /// <summary>A tensor-valued attribute (e.g. <c>ConstantOfShape.value</c>); see <see cref="OnnxTensor"/>.</summary>
    public static OnnxAttribute Tensor(string name, TensorProto value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Create(name, AttributeProto.Types.AttributeType.Tensor, a => a.T = value.Clone());
    }

    private static OnnxAttribute Create(string name, AttributeProto.Types.AttributeType type, Action<AttributeProto> set)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var proto = new AttributeProto { Name = name, Type = type };
        set(proto);
        return new OnnxAttribute(proto);
    }
}
