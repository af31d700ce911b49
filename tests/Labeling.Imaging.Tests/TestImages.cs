using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using SkiaSharp;

namespace Labeling.Imaging.Tests;

/// <summary>The shared photographs, and images built byte by byte (or with Skia's encoders) for the tests.</summary>
internal static class TestImages
{
    public static string PhotoDirectory
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Labeling.sln")))
            {
                dir = dir.Parent;
            }

            Assert.True(dir is not null, $"No folder containing Labeling.sln above {AppContext.BaseDirectory}.");
            var images = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "images"));
            Assert.True(Directory.Exists(images), $"The shared photographs are missing: expected them in {images}.");
            return images;
        }
    }

    public static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(PhotoDirectory, name));

    // ---------- Skia-encoded images ----------

    /// <summary>Encodes pixels drawn by <paramref name="paint"/> (x, y) → colour.</summary>
    public static byte[] Encode(int width, int height, Func<int, int, SKColor> paint, SKEncodedImageFormat format, int quality = 95)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var row = new byte[width * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var c = paint(x, y);
                (row[4 * x], row[(4 * x) + 1], row[(4 * x) + 2], row[(4 * x) + 3]) = (c.Red, c.Green, c.Blue, c.Alpha);
            }

            Marshal.Copy(row, 0, bitmap.GetPixels() + (y * bitmap.RowBytes), row.Length);
        }

        using var data = bitmap.Encode(format, quality);
        Assert.NotNull(data);
        return data.ToArray();
    }

    /// <summary>A smooth colour gradient with a few hard edges, the kind of content JPEG handles realistically.</summary>
    public static byte[] GradientJpeg1024x768 => Gradient.Value;

    private static readonly Lazy<byte[]> Gradient = new(() => GradientJpeg(1024, 768));

    public static byte[] GradientJpeg(int width, int height) =>
        Encode(width, height, (x, y) => new SKColor(
            (byte)(255 * x / (width - 1)),
            (byte)(255 * y / (height - 1)),
            (byte)(((x / 64) + (y / 64)) % 2 == 0 ? 200 : 40)), SKEncodedImageFormat.Jpeg, 90);

    // ---------- JPEG surgery ----------

    /// <summary>Inserts an APP1 Exif segment holding only an Orientation tag right after SOI.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        Assert.True(jpeg[0] == 0xFF && jpeg[1] == 0xD8, "not a JPEG");
        var tiff = new byte[]
        {
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF header, IFD0 at 8
            0x00, 0x01,                                               // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,           // Orientation, SHORT, count 1
            0x00, (byte)orientation, 0x00, 0x00,                      // value (left-justified)
            0x00, 0x00, 0x00, 0x00,                                   // no next IFD
        };
        var segment = new List<byte> { 0xFF, 0xE1, 0, 0 };
        segment.AddRange("Exif\0\0"u8.ToArray());
        segment.AddRange(tiff);
        int length = segment.Count - 2;
        segment[2] = (byte)(length >> 8);
        segment[3] = (byte)length;
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }

    /// <summary>
    /// A baseline CMYK JPEG written by hand (Adobe APP14, inverted CMYK as Photoshop stores it, 4 components,
    /// no subsampling, quantisation 1, flat 8×8 blocks so only DC coefficients are needed).
    /// Each block is one 8×8 tile of stored (inverted) C, M, Y, K values.
    /// </summary>
    public static byte[] CmykJpeg((byte C, byte M, byte Y, byte K)[] blocks)
    {
        int width = 8 * blocks.Length, height = 8;
        var o = new List<byte> { 0xFF, 0xD8 };
        void Segment(byte marker, IEnumerable<byte> body)
        {
            var b = body.ToArray();
            o.AddRange([0xFF, marker, (byte)((b.Length + 2) >> 8), (byte)(b.Length + 2)]);
            o.AddRange(b);
        }

        Segment(0xEE, [.. "Adobe"u8.ToArray(), 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]); // transform 0: CMYK
        Segment(0xDB, [0x00, .. Enumerable.Repeat((byte)1, 64)]);
        Segment(0xC0, [8, 0, (byte)height, (byte)(width >> 8), (byte)width, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
        var dcCounts = new byte[16];
        dcCounts[3] = 12; // categories 0..11, all 4-bit codes: code == category
        Segment(0xC4, [0x00, .. dcCounts, .. Enumerable.Range(0, 12).Select(i => (byte)i)]);
        var acCounts = new byte[16];
        acCounts[0] = 1; // only EOB, code "0"
        Segment(0xC4, [0x10, .. acCounts, 0x00]);
        Segment(0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);

        var bits = new BitWriter();
        var predictor = new int[4];
        foreach (var (c, m, y, k) in blocks)
        {
            byte[] samples = [c, m, y, k];
            for (int i = 0; i < 4; i++)
            {
                int dc = 8 * (samples[i] - 128); // FDCT DC of a flat block, quantiser 1
                int diff = dc - predictor[i];
                predictor[i] = dc;
                int category = diff == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(diff));
                bits.Write(category, 4);
                if (category > 0)
                {
                    bits.Write(diff >= 0 ? diff : diff + (1 << category) - 1, category);
                }

                bits.Write(0, 1); // EOB
            }
        }

        o.AddRange(bits.ToJpegEntropyBytes());
        o.AddRange([0xFF, 0xD9]);
        return [.. o];
    }

    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = [];
        private int _current;
        private int _count;

        public void Write(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                _current = (_current << 1) | ((value >> i) & 1);
                if (++_count == 8)
                {
                    _bytes.Add((byte)_current);
                    _current = 0;
                    _count = 0;
                }
            }
        }

        public List<byte> ToJpegEntropyBytes()
        {
            if (_count > 0)
            {
                Write((1 << (8 - _count)) - 1, 8 - _count); // pad with 1 bits
            }

            var stuffed = new List<byte>();
            foreach (var b in _bytes)
            {
                stuffed.Add(b);
                if (b == 0xFF)
                {
                    stuffed.Add(0x00);
                }
            }

            return stuffed;
        }
    }

    // ---------- PNG by hand ----------

    /// <summary>A PNG with the given IHDR fields and raw (unfiltered) scanlines; filter byte 0 is added per row.</summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[][] rows, byte[]? palette = null, byte[]? transparency = null)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        WriteChunk(ms, "IHDR", ihdr);
        if (palette is not null)
        {
            WriteChunk(ms, "PLTE", palette);
        }

        if (transparency is not null)
        {
            WriteChunk(ms, "tRNS", transparency);
        }

        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            {
                foreach (var row in rows)
                {
                    z.WriteByte(0);
                    z.Write(row);
                }
            }

            WriteChunk(ms, "IDAT", raw.ToArray());
        }

        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    public static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        s.Write(crc);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }

    // ---------- GIF by hand ----------

    /// <summary>
    /// An animated GIF89a (looping) with a 4-colour global palette; each frame covers the whole canvas and
    /// holds palette indices, row-major. LZW codes are 3 bits wide throughout: a clear code every 2 pixels
    /// keeps the code table from growing.
    /// </summary>
    public static byte[] AnimatedGif(int width, int height, byte[] palette, params byte[][] frames)
    {
        Assert.Equal(12, palette.Length);
        var o = new List<byte>();
        o.AddRange("GIF89a"u8.ToArray());
        o.AddRange([(byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0x91, 0, 0]);
        o.AddRange(palette);
        o.AddRange([0x21, 0xFF, 0x0B, .. "NETSCAPE2.0"u8.ToArray(), 0x03, 0x01, 0x00, 0x00, 0x00]);
        foreach (var frame in frames)
        {
            o.AddRange([0x21, 0xF9, 0x04, 0x04, 10, 0, 0, 0]); // disposal: keep; 100 ms
            o.AddRange([0x2C, 0, 0, 0, 0, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0]);
            o.Add(2); // LZW minimum code size
            var codes = new List<int>();
            for (int i = 0; i < frame.Length; i++)
            {
                if (i % 2 == 0)
                {
                    codes.Add(4); // clear
                }

                codes.Add(frame[i]);
            }

            codes.Add(5); // end of information
            var packed = new List<byte>();
            int acc = 0, n = 0;
            foreach (var code in codes)
            {
                acc |= code << n;
                n += 3;
                while (n >= 8)
                {
                    packed.Add((byte)acc);
                    acc >>= 8;
                    n -= 8;
                }
            }

            if (n > 0)
            {
                packed.Add((byte)acc);
            }

            foreach (var block in packed.Chunk(255))
            {
                o.Add((byte)block.Length);
                o.AddRange(block);
            }

            o.Add(0);
        }

        o.Add(0x3B);
        return [.. o];
    }

    // ---------- BMP by hand ----------

    /// <summary>A 24-bit bottom-up BMP; <paramref name="rgb"/> is row-major top-down RGB.</summary>
    public static byte[] Bmp24(int width, int height, byte[] rgb)
    {
        int stride = ((width * 3) + 3) & ~3;
        var o = new byte[54 + (stride * height)];
        o[0] = (byte)'B';
        o[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(2), o.Length);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(o.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(o.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(34), stride * height);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + ((height - 1 - y) * stride);
            for (int x = 0; x < width; x++)
            {
                int s = ((y * width) + x) * 3;
                o[row + (x * 3)] = rgb[s + 2];
                o[row + (x * 3) + 1] = rgb[s + 1];
                o[row + (x * 3) + 2] = rgb[s];
            }
        }

        return o;
    }

    // ---------- reading results ----------

    public static (byte R, byte G, byte B) PixelAt(DecodedImage image, int x, int y)
    {
        var p = image.Pixels.Span;
        int i = ((y * image.Width) + x) * 3;
        return (p[i], p[i + 1], p[i + 2]);
    }

    public static void AssertColor((int R, int G, int B) expected, (byte R, byte G, byte B) actual, int tolerance, string what = "")
    {
        bool close = Math.Abs(expected.R - actual.R) <= tolerance && Math.Abs(expected.G - actual.G) <= tolerance && Math.Abs(expected.B - actual.B) <= tolerance;
        Assert.True(close, $"{what} expected {expected} ±{tolerance}, got {actual}");
    }

    public static DecodedImage DecodeOk(byte[] data, ImageDecodeOptions? options = null)
    {
        var result = ImageDecoder.Decode(data, options ?? new ImageDecodeOptions());
        Assert.True(result.Success, $"decode failed: {result.Failure} {result.Message}");
        return result.Image;
    }
}
