using System.Buffers.Binary;
using System.Text;
using Labeling.Vocabulary;

namespace Labeling.Core.Tests.Vocabulary;

public sealed class NpyTests
{
    /// <summary>A .npy file written by hand: magic, version, header length, the header dict padded to 64 bytes, then <paramref name="data"/>.</summary>
    internal static byte[] NpyFile(string headerDict, byte[] data, byte major = 1)
    {
        var prefix = major == 1 ? 10 : 12;
        var header = headerDict;
        while ((prefix + header.Length + 1) % 64 != 0)
        {
            header += " ";
        }

        header += "\n";
        using var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0]);
        if (major == 1)
        {
            var len = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
            ms.Write(len);
        }
        else
        {
            var len = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)header.Length);
            ms.Write(len);
        }

        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(data);
        return ms.ToArray();
    }

    internal static byte[] Float32Bytes(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    private static (float[] Data, int[] Shape) Read(byte[] file) => Npy.Read(new MemoryStream(file));

    [Fact]
    public void Read_Float32V1_ReturnsValuesInCOrderAndShape()
    {
        var file = NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Float32Bytes(1f, 2f, 3f, -4.5f, 0.25f, 1e-7f));

        var (data, shape) = Read(file);

        Assert.Equal([2, 3], shape);
        Assert.Equal([1f, 2f, 3f, -4.5f, 0.25f, 1e-7f], data);
    }

    [Fact]
    public void Read_Float16V1_WidensToFloat()
    {
        Half[] values = [(Half)1, (Half)(-2.5), (Half)0.333, Half.MaxValue];
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), values[i]);
        }

        var (data, shape) = Read(NpyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", bytes));

        Assert.Equal([4], shape);
        Assert.Equal([1f, -2.5f, (float)(Half)0.333, 65504f], data);
    }

    [Fact]
    public void Read_Float64V2_NarrowsToFloat()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, 0.1);
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8), -3);

        var (data, shape) = Read(NpyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", bytes, major: 2));

        Assert.Equal([1, 2], shape);
        Assert.Equal([0.1f, -3f], data);
    }

    [Fact]
    public void Read_EmptyArray_HasZeroRows()
    {
        var (data, shape) = Read(NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 512), }", []));

        Assert.Equal([0, 512], shape);
        Assert.Empty(data);
    }

    [Fact]
    public void Read_FortranOrder_IsRefused()
    {
        var file = NpyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Float32Bytes(1, 2, 3, 4));

        var ex = Assert.Throws<NotSupportedException>(() => Read(file));
        Assert.Contains("Fortran", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedData_IsRefusedWithByteCounts()
    {
        var file = NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Float32Bytes(1, 2, 3, 4, 5));

        var ex = Assert.Throws<InvalidDataException>(() => Read(file));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("needs 24 bytes, the file has 20", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TruncatedHeader_IsRefused()
    {
        var file = NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Float32Bytes(1));

        var ex = Assert.Throws<InvalidDataException>(() => Read(file[..30]));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<i4")]
    [InlineData("<f16")]
    [InlineData("|u1")]
    public void Read_OtherDtype_IsRefusedNamingIt(string descr)
    {
        var file = NpyFile($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}", new byte[16]);

        var ex = Assert.Throws<NotSupportedException>(() => Read(file));
        Assert.Contains($"'{descr}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BigEndianFloat_IsRefused()
    {
        var file = NpyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);

        var ex = Assert.Throws<NotSupportedException>(() => Read(file));
        Assert.Contains("big-endian", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NotNpy_IsRefused()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Read(Encoding.ASCII.GetBytes("PK\u0003\u0004 not a numpy file")));
        Assert.Contains("magic", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MalformedHeader_IsRefused()
    {
        var file = NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1, }", new byte[4]);

        Assert.Throws<InvalidDataException>(() => Read(file));
    }
}
