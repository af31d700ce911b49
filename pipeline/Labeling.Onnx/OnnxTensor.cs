using Labeling.Onnx.Proto;

namespace Labeling.Onnx;

/// <summary>Builds dense tensors for initializers and tensor attributes, checking data length against dims.</summary>
public static class OnnxTensor
{
    public static TensorProto Float(string name, float[] data, params long[] dims)
    {
        var tensor = Create(name, TensorElementType.Float, data?.Length, dims);
        tensor.FloatData.AddRange(data!);
        return tensor;
    }

    public static TensorProto Int64(string name, long[] data, params long[] dims)
    {
        var tensor = Create(name, TensorElementType.Int64, data?.Length, dims);
        tensor.Int64Data.AddRange(data!);
        return tensor;
    }

    public static TensorProto Int32(string name, int[] data, params long[] dims)
    {
        var tensor = Create(name, TensorElementType.Int32, data?.Length, dims);
        tensor.Int32Data.AddRange(data!);
        return tensor;
    }

    /// <summary>Number of elements a tensor of these dims holds (1 for a scalar, <c>dims = []</c>).</summary>
    public static long ElementCount(IEnumerable<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long count = 1;
        foreach (var d in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dims));
            count = checked(count * d);
        }
        return count;
    }

    /// <summary>Why the tensor's stored data does not fit its dims and type, or null when it does.</summary>
    internal static string? Problem(TensorProto tensor)
    {
        if (tensor.Dims.Any(d => d < 0))
        {
            return $"initializer '{tensor.Name}' has a negative dimension in [{string.Join(',', tensor.Dims)}]";
        }
        var type = (TensorProto.Types.DataType)tensor.DataType;
        if (type == TensorProto.Types.DataType.Undefined || !Enum.IsDefined(type))
        {
            return $"initializer '{tensor.Name}' has no valid data type ({tensor.DataType})";
        }
        long expected;
        try
        {
            expected = ElementCount(tensor.Dims);
        }
        catch (OverflowException)
        {
            return $"initializer '{tensor.Name}' has dims [{string.Join(',', tensor.Dims)}] whose product overflows";
        }

        var typedCounts = new[]
        {
            tensor.FloatData.Count, tensor.Int32Data.Count, tensor.StringData.Count,
            tensor.Int64Data.Count, tensor.DoubleData.Count, tensor.Uint64Data.Count,
        };
        var typed = typedCounts.Sum();
        long actual;
        if (!tensor.RawData.IsEmpty)
        {
            if (typed > 0)
            {
                return $"initializer '{tensor.Name}' stores data both in raw_data and in a typed field";
            }
            var size = ElementSize(type);
            if (size == 0)
            {
                return $"initializer '{tensor.Name}' of type {type} cannot use raw_data";
            }
            if (tensor.RawData.Length % size != 0)
            {
                return $"initializer '{tensor.Name}' has {tensor.RawData.Length} raw bytes, not a multiple of {size} ({type})";
            }
            actual = tensor.RawData.Length / size;
        }
        else
        {
            actual = type switch
            {
                TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Complex64 => tensor.FloatData.Count,
                TensorProto.Types.DataType.Int64 => tensor.Int64Data.Count,
                TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Complex128 => tensor.DoubleData.Count,
                TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64 => tensor.Uint64Data.Count,
                TensorProto.Types.DataType.String => tensor.StringData.Count,
                _ => tensor.Int32Data.Count,
            };
            if (actual != typed)
            {
                return $"initializer '{tensor.Name}' of type {type} stores data in a field that does not belong to its type";
            }
            if (type is TensorProto.Types.DataType.Complex64 or TensorProto.Types.DataType.Complex128)
            {
                actual /= 2;
            }
        }
        return actual == expected
            ? null
            : $"initializer '{tensor.Name}' has dims [{string.Join(',', tensor.Dims)}] ({expected} elements) but holds {actual} elements";
    }

    private static int ElementSize(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Bool => 1,
        TensorProto.Types.DataType.Uint16 or TensorProto.Types.DataType.Int16
            or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 => 2,
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64
            or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Complex64 => 8,
        TensorProto.Types.DataType.Complex128 => 16,
        _ => 0,
    };

    private static TensorProto Create(string name, TensorElementType type, int? length, long[] dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(length, "data");
        ArgumentNullException.ThrowIfNull(dims);
        var expected = ElementCount(dims);
        if (expected != length)
        {
            throw new ArgumentException(
                $"tensor '{name}': dims [{string.Join(',', dims)}] hold {expected} elements but the data has {length}", "data");
        }
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
