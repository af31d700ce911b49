namespace Labeling.Onnx;

/// <summary>Element type of a tensor; the values are ONNX's <c>TensorProto.DataType</c> numbers.</summary>
public enum TensorElementType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
}
