using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Labeling.Vocabulary;

/// <summary>
/// Reads NumPy <c>.npy</c> arrays (format versions 1.0, 2.0 and 3.0) of little-endian floats
/// (<c>&lt;f2</c>, <c>&lt;f4</c>, <c>&lt;f8</c>) in C order, widened or narrowed to <see cref="float"/>.
/// </summary>
/// <remarks>
/// A file this reader understands but does not support (Fortran order, big-endian, another dtype,
/// a format version above 3) raises <see cref="NotSupportedException"/>; a damaged file (bad magic,
/// malformed header, fewer data bytes than the shape needs) raises <see cref="InvalidDataException"/>.
/// Bytes after the array are ignored, as NumPy does.
/// </remarks>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads one array from <paramref name="stream"/>; returns its elements in C order and its shape (empty for a scalar).</summary>
    public static (float[] Data, int[] Shape) Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);

        Span<byte> preamble = stackalloc byte[8];
        ReadExactly(stream, preamble, "the magic string and version");
        if (!preamble[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a .npy file: the magic string \\x93NUMPY is missing.");
        }

        int major = preamble[6];
        int minor = preamble[7];
        int headerLength;
        Encoding headerEncoding;
        switch (major)
        {
            case 1:
                Span<byte> len16 = stackalloc byte[2];
                ReadExactly(stream, len16, "the header length");
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len16);
                headerEncoding = Encoding.Latin1;
                break;
            case 2 or 3:
                Span<byte> len32 = stackalloc byte[4];
                ReadExactly(stream, len32, "the header length");
                var length = BinaryPrimitives.ReadUInt32LittleEndian(len32);
                if (length > 1 << 20)
                {
                    throw new InvalidDataException($"The .npy header claims {length} bytes; refusing a header over 1 MiB.");
                }

                headerLength = (int)length;
                headerEncoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
                break;
            default:
                throw new NotSupportedException($".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are).");
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, "the header");
        var header = headerEncoding.GetString(headerBytes);
        var (descr, fortranOrder, shape) = ParseHeader(header);

        if (fortranOrder)
        {
            throw new NotSupportedException("The .npy array is in Fortran (column-major) order; only C order is supported. Save it with numpy.ascontiguousarray first.");
        }

        var itemSize = ItemSize(descr);
        long count = 1;
        foreach (var dim in shape)
        {
            count *= dim;
            if (count > Array.MaxLength)
            {
                throw new NotSupportedException($"The .npy array of shape ({string.Join(", ", shape)}) has more elements than a .NET array can hold.");
            }
        }

        var data = new float[count];
        ReadData(stream, data, descr, itemSize, shape);
        return (data, shape);
    }

    private static int ItemSize(string descr)
    {
        switch (descr)
        {
            case "<f2":
                return 2;
            case "<f4":
                return 4;
            case "<f8":
                return 8;
        }

        if (descr.Length == 3 && descr[0] == '>' && descr[1] == 'f')
        {
            throw new NotSupportedException($"The .npy dtype '{descr}' is big-endian; only little-endian floats (<f2, <f4, <f8) are supported.");
        }

        throw new NotSupportedException($"The .npy dtype '{descr}' is not supported; only little-endian floats (<f2, <f4, <f8) are.");
    }

    private static void ReadData(Stream stream, float[] data, string descr, int itemSize, int[] shape)
    {
        var buffer = new byte[Math.Min(1 << 16, Math.Max(itemSize, data.LongLength * itemSize))];
        var itemsPerChunk = buffer.Length / itemSize;
        var done = 0;
        while (done < data.Length)
        {
            var items = Math.Min(itemsPerChunk, data.Length - done);
            var span = buffer.AsSpan(0, items * itemSize);
            var read = stream.ReadAtLeast(span, span.Length, throwOnEndOfStream: false);
            if (read < span.Length)
            {
                var have = ((long)done * itemSize) + read;
                throw new InvalidDataException(
                    $"The .npy data is truncated: shape ({string.Join(", ", shape)}) of '{descr}' needs {(long)data.Length * itemSize} bytes, the file has {have}.");
            }

            for (var i = 0; i < items; i++)
            {
                var item = span.Slice(i * itemSize, itemSize);
                data[done + i] = itemSize switch
                {
                    2 => (float)BinaryPrimitives.ReadHalfLittleEndian(item),
                    4 => BinaryPrimitives.ReadSingleLittleEndian(item),
                    _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(item),
                };
            }

            done += items;
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        if (stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) < buffer.Length)
        {
            throw new InvalidDataException($"The .npy file is truncated: it ends inside {what}.");
        }
    }

    private static (string Descr, bool FortranOrder, int[] Shape) ParseHeader(string header)
    {
        object? parsed;
        try
        {
            var parser = new HeaderParser(header);
            parsed = parser.ParseValue();
            parser.ExpectEnd();
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"The .npy header is malformed ({ex.Message}): {header.TrimEnd()}", ex);
        }

        if (parsed is not Dictionary<string, object?> dict)
        {
            throw new InvalidDataException($"The .npy header is not a dictionary: {header.TrimEnd()}");
        }

        if (!dict.TryGetValue("descr", out var descrValue) || !dict.TryGetValue("fortran_order", out var fortranValue) || !dict.TryGetValue("shape", out var shapeValue))
        {
            throw new InvalidDataException($"The .npy header lacks one of 'descr', 'fortran_order', 'shape': {header.TrimEnd()}");
        }

        if (descrValue is not string descr)
        {
            throw new NotSupportedException($"The .npy dtype {header.TrimEnd()} is structured; only little-endian floats (<f2, <f4, <f8) are supported.");
        }

        if (fortranValue is not bool fortranOrder)
        {
            throw new InvalidDataException($"The .npy header's 'fortran_order' is not True or False: {header.TrimEnd()}");
        }

        if (shapeValue is not List<object?> dims || dims.Any(d => d is not long))
        {
            throw new InvalidDataException($"The .npy header's 'shape' is not a tuple of integers: {header.TrimEnd()}");
        }

        var shape = new int[dims.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            var dim = (long)dims[i]!;
            if (dim is < 0 or > int.MaxValue)
            {
                throw new InvalidDataException($"The .npy header's shape has an impossible dimension {dim}.");
            }

            shape[i] = (int)dim;
        }

        return (descr, fortranOrder, shape);
    }

    /// <summary>The subset of Python literals that NumPy writes in headers: dicts, tuples, lists, strings, integers, True/False/None.</summary>
    private sealed class HeaderParser(string text)
    {
        private int _pos;

        public object? ParseValue()
        {
            SkipSpace();
            if (_pos >= text.Length)
            {
                throw new FormatException("unexpected end");
            }

            var ch = text[_pos];
            switch (ch)
            {
                case '{':
                    return ParseDict();
                case '(':
                    return ParseSequence(')');
                case '[':
                    return ParseSequence(']');
                case '\'' or '"':
                    return ParseString();
            }

            if (ch == '-' || char.IsAsciiDigit(ch))
            {
                var start = _pos;
                _pos++;
                while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == 'L'))
                {
                    _pos++;
                }

                var digits = text[start.._pos].TrimEnd('L');
                return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                    ? value
                    : throw new FormatException($"bad integer '{digits}'");
            }

            foreach (var (word, value) in new (string, object?)[] { ("True", true), ("False", false), ("None", null) })
            {
                if (string.CompareOrdinal(text, _pos, word, 0, word.Length) == 0)
                {
                    _pos += word.Length;
                    return value;
                }
            }

            throw new FormatException($"unexpected '{ch}' at {_pos}");
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos != text.Length)
            {
                throw new FormatException($"unexpected '{text[_pos]}' at {_pos}");
            }
        }

        private Dictionary<string, object?> ParseDict()
        {
            var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
            _pos++;
            while (true)
            {
                SkipSpace();
                if (Take('}'))
                {
                    return dict;
                }

                if (ParseValue() is not string key)
                {
                    throw new FormatException("a dictionary key is not a string");
                }

                SkipSpace();
                if (!Take(':'))
                {
                    throw new FormatException($"expected ':' at {_pos}");
                }

                dict[key] = ParseValue();
                SkipSpace();
                if (!Take(',') && !(_pos < text.Length && text[_pos] == '}'))
                {
                    throw new FormatException($"expected ',' or '}}' at {_pos}");
                }
            }
        }

        private List<object?> ParseSequence(char close)
        {
            var items = new List<object?>();
            _pos++;
            while (true)
            {
                SkipSpace();
                if (Take(close))
                {
                    return items;
                }

                items.Add(ParseValue());
                SkipSpace();
                if (!Take(',') && !(_pos < text.Length && text[_pos] == close))
                {
                    throw new FormatException($"expected ',' or '{close}' at {_pos}");
                }
            }
        }

        private string ParseString()
        {
            var quote = text[_pos++];
            var end = text.IndexOf(quote, _pos);
            if (end < 0)
            {
                throw new FormatException("unterminated string");
            }

            var value = text[_pos..end];
            _pos = end + 1;
            return value;
        }

        private bool Take(char ch)
        {
            if (_pos < text.Length && text[_pos] == ch)
            {
                _pos++;
                return true;
            }

            return false;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }
    }
}
