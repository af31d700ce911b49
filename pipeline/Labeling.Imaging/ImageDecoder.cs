using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Labeling.Imaging;

/// <summary>
/// Decodes encoded images (JPEG, PNG, GIF, WebP, BMP, ICO, WBMP) into 8-bit RGB with EXIF orientation applied.
/// Never throws for bad input: every refusal is a <see cref="DecodeResult"/> with a reason and a message.
/// Thread-safe: static functions without shared mutable state.
/// </summary>
public static class ImageDecoder
{
    // Native JPEG downscales tried for TargetLongSide, largest reduction first.
    private static readonly float[] ReducedScales = [1f / 8, 1f / 4, 1f / 2];

    /// <summary>
    /// Reads format, dimensions, orientation, alpha and frame count from the header only (no pixel is decoded).
    /// Returns the header, or a failure (never both).
    /// </summary>
    public static (ImageHeader? Header, DecodeResult? Failure) ReadHeader(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return (null, DecodeResult.Fail(DecodeFailureReason.Empty, "The file is empty (0 bytes)."));
        }

        try
        {
            using var source = SkiaSource.Open(data, out var failure);
            return source is null ? (null, failure) : (ToHeader(source.Codec), null);
        }
        catch (Exception ex)
        {
            return (null, Unexpected(ex));
        }
    }

    /// <summary>
    /// Decodes the first frame of an image into RGB: the pixel limit is checked from the header first, EXIF
    /// orientation is applied, alpha is composited on <see cref="ImageDecodeOptions.Background"/>, colour
    /// profiles are converted to sRGB, and the image is decoded at a reduced scale when
    /// <see cref="ImageDecodeOptions.TargetLongSide"/> allows. A truncated file is refused, not half-decoded.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="options"/> has an out-of-range value.</exception>
    public static DecodeResult Decode(ReadOnlyMemory<byte> data, ImageDecodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (data.IsEmpty)
        {
            return DecodeResult.Fail(DecodeFailureReason.Empty, "The file is empty (0 bytes).");
        }

        try
        {
            using var source = SkiaSource.Open(data, out var failure);
            return source is null ? failure! : DecodeCodec(source.Codec, data, options);
        }
        catch (Exception ex)
        {
            return Unexpected(ex);
        }
    }

    private static DecodeResult DecodeCodec(SKCodec codec, ReadOnlyMemory<byte> data, ImageDecodeOptions options)
    {
        var header = ToHeader(codec);
        if (header.PixelCount > options.MaxPixels)
        {
            return DecodeResult.Fail(
                DecodeFailureReason.TooManyPixels,
                string.Create(CultureInfo.InvariantCulture, $"The {header.Format} image is {header.Width}x{header.Height} ({header.PixelCount} pixels), over the limit of {options.MaxPixels} pixels."));
        }

        var full = codec.Info.Size;
        var scaled = ChooseScaledSize(codec, options.TargetLongSide);
        var result = DecodeAt(codec, scaled, header, options, out var image);
        if (scaled != full && result is SKCodecResult.InvalidScale or SKCodecResult.InvalidConversion or SKCodecResult.Unimplemented)
        {
            // The codec promised a scale it then refused: fall back to full resolution.
            result = DecodeAt(codec, full, header, options, out image);
        }

        return result switch
        {
            SKCodecResult.Success => DecodeResult.Ok(image!),
            SKCodecResult.IncompleteInput => Incomplete(data.Span, header.Format, "before all pixels were read"),
            SKCodecResult.InvalidConversion or SKCodecResult.Unimplemented or SKCodecResult.InvalidScale => DecodeResult.Fail(
                DecodeFailureReason.UnsupportedFormat,
                $"This {header.Format} variant cannot be decoded to RGB ({result})."),
            _ => DecodeResult.Fail(
                DecodeFailureReason.Corrupt,
                $"The {header.Format} data is invalid ({result})."),
        };
    }

    private static SKSizeI ChooseScaledSize(SKCodec codec, int? targetLongSide)
    {
        var full = codec.Info.Size;
        if (targetLongSide is not { } target || Math.Max(full.Width, full.Height) <= target)
        {
            return full;
        }

        foreach (var scale in ReducedScales)
        {
            var size = codec.GetScaledDimensions(scale);
            if (size.Width > 0 && size.Height > 0 && size.Width <= full.Width && size.Height <= full.Height
                && Math.Max(size.Width, size.Height) >= target)
            {
                return size;
            }
        }

        return full;
    }

    private static unsafe SKCodecResult DecodeAt(SKCodec codec, SKSizeI size, ImageHeader header, ImageDecodeOptions options, out DecodedImage? image)
    {
        image = null;
        long scratchBytes = (long)size.Width * size.Height * 4;
        if (scratchBytes > Array.MaxLength)
        {
            // MaxPixels was raised beyond what one managed buffer holds; treat like the pixel limit.
            throw new InsufficientMemoryException($"{size.Width}x{size.Height} does not fit one decode buffer.");
        }

        var alpha = header.HasAlpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque;
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, alpha, SKColorSpace.CreateSrgb());
        var scratch = ArrayPool<byte>.Shared.Rent((int)scratchBytes);
        try
        {
            SKCodecResult result;
            fixed (byte* p = scratch)
            {
                // Frame 0 with no prior frame: the first frame of an animation, composed on a cleared canvas.
                result = codec.GetPixels(info, (IntPtr)p, info.RowBytes, new SKCodecOptions(0));
            }

            if (result != SKCodecResult.Success)
            {
                return result;
            }

            bool swap = header.Orientation >= 5;
            int width = swap ? size.Height : size.Width;
            int height = swap ? size.Width : size.Height;
            // Every byte is written below, so skip the zeroing.
            var rgb = GC.AllocateUninitializedArray<byte>(checked(width * height * 3));
            ToOrientedRgb(scratch.AsSpan(0, (int)scratchBytes), size.Width, size.Height, header.Orientation, header.HasAlpha, options.Background, rgb);
            image = new DecodedImage(width, height, header.Width, header.Height, header.Format, rgb);
            return SKCodecResult.Success;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Copies stored RGBA (unpremultiplied) into displayed RGB: composites alpha on the background and moves
    /// each stored pixel (sx, sy) to its displayed place x = ax + bx·sx + cx·sy, y = ay + by·sx + cy·sy.
    /// </summary>
    private static void ToOrientedRgb(ReadOnlySpan<byte> rgba, int w, int h, int orientation, bool hasAlpha, (byte R, byte G, byte B) background, Span<byte> rgb)
    {
        var (ax, bx, cx, ay, by, cy) = orientation switch
        {
            2 => (w - 1, -1, 0, 0, 0, 1),
            3 => (w - 1, -1, 0, h - 1, 0, -1),
            4 => (0, 1, 0, h - 1, 0, -1),
            5 => (0, 0, 1, 0, 1, 0),
            6 => (h - 1, 0, -1, 0, 1, 0),
            7 => (h - 1, 0, -1, w - 1, -1, 0),
            8 => (0, 0, 1, w - 1, -1, 0),
            _ => (0, 1, 0, 0, 0, 1),
        };
        int displayedWidth = orientation >= 5 ? h : w;
        long origin = ((long)ay * displayedWidth) + ax;
        long stepX = ((long)by * displayedWidth) + bx; // destination step per stored column
        long stepY = ((long)cy * displayedWidth) + cx; // destination step per stored row

        if (orientation == 1 && !hasAlpha)
        {
            // The common case (upright, opaque): drop every fourth byte, without bounds checks per byte.
            int pixels = w * h;
            if (rgb.Length < pixels * 3 || rgba.Length < pixels * 4)
            {
                throw new ArgumentException("Pixel buffers are too small.", nameof(rgb));
            }

            ref byte src = ref MemoryMarshal.GetReference(rgba);
            ref byte dst = ref MemoryMarshal.GetReference(rgb);
            int p = 0;
            for (; p < pixels - 1; p++)
            {
                // Writes 4 bytes; the 4th is overwritten by the next pixel, hence the last pixel is done apart.
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, p * 3), Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, p * 4)));
            }

            rgb[p * 3] = rgba[p * 4];
            rgb[(p * 3) + 1] = rgba[(p * 4) + 1];
            rgb[(p * 3) + 2] = rgba[(p * 4) + 2];
            return;
        }

        int br = background.R, bg = background.G, bb = background.B;
        for (int sy = 0; sy < h; sy++)
        {
            var row = rgba.Slice(sy * w * 4, w * 4);
            long d = origin + (sy * stepY);
            for (int sx = 0; sx < w; sx++, d += stepX)
            {
                int i = sx * 4;
                int o = (int)(d * 3);
                int r = row[i], g = row[i + 1], b = row[i + 2];
                if (hasAlpha)
                {
                    int a = row[i + 3];
                    if (a != 255)
                    {
                        int na = 255 - a;
                        r = ((r * a) + (br * na) + 127) / 255;
                        g = ((g * a) + (bg * na) + 127) / 255;
                        b = ((b * a) + (bb * na) + 127) / 255;
                    }
                }

                rgb[o] = (byte)r;
                rgb[o + 1] = (byte)g;
                rgb[o + 2] = (byte)b;
            }
        }
    }

    private static ImageHeader ToHeader(SKCodec codec)
    {
        var info = codec.Info;
        int orientation = (int)codec.EncodedOrigin;
        if (orientation is < 1 or > 8)
        {
            orientation = 1;
        }

        bool swap = orientation >= 5;
        return new ImageHeader(
            FormatName(codec.EncodedFormat),
            swap ? info.Height : info.Width,
            swap ? info.Width : info.Height,
            orientation,
            info.AlphaType != SKAlphaType.Opaque,
            Math.Max(1, codec.FrameCount));
    }

    /// <summary>
    /// Skia answers IncompleteInput both for a cut file and for some invalid data (libpng header errors, a
    /// zlib stream that stops making sense). A file whose container is whole (PNG up to IEND, JPEG ending
    /// in EOI, …) was not cut, so it is corrupt; otherwise it is truncated.
    /// </summary>
    private static DecodeResult Incomplete(ReadOnlySpan<byte> bytes, string format, string where) =>
        ContainerIsComplete(bytes)
            ? DecodeResult.Fail(
                DecodeFailureReason.Corrupt,
                $"The {format} file is complete ({bytes.Length} bytes, with its end marker) but its data is invalid: the decoder ran out of data {where}.")
            : DecodeResult.Fail(
                DecodeFailureReason.Truncated,
                $"The {format} file ends {where} ({bytes.Length} bytes): it is truncated; a partial image is refused.");

    private static bool ContainerIsComplete(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            long offset = 8;
            while (offset + 12 <= b.Length)
            {
                long length = BinaryPrimitives.ReadUInt32BigEndian(b[(int)offset..]);
                bool end = b.Slice((int)offset + 4, 4).SequenceEqual("IEND"u8);
                offset += 12 + length;
                if (end)
                {
                    return offset <= b.Length;
                }
            }

            return false;
        }

        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8]))
        {
            var trimmed = b.TrimEnd((byte)0);
            return trimmed.EndsWith((ReadOnlySpan<byte>)[0xFF, 0xD9]);
        }

        if (b.StartsWith("GIF8"u8))
        {
            return b.TrimEnd((byte)0).EndsWith((ReadOnlySpan<byte>)[0x3B]);
        }

        if (b.Length >= 12 && b.StartsWith("RIFF"u8))
        {
            return 8L + BinaryPrimitives.ReadUInt32LittleEndian(b[4..]) <= b.Length;
        }

        if (b.Length >= 6 && b.StartsWith("BM"u8))
        {
            return BinaryPrimitives.ReadUInt32LittleEndian(b[2..]) <= (uint)b.Length;
        }

        return false;
    }

    private static string FormatName(SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Jpeg => "jpeg",
        SKEncodedImageFormat.Png => "png",
        SKEncodedImageFormat.Gif => "gif",
        SKEncodedImageFormat.Webp => "webp",
        SKEncodedImageFormat.Bmp => "bmp",
        SKEncodedImageFormat.Ico => "ico",
        SKEncodedImageFormat.Wbmp => "wbmp",
        SKEncodedImageFormat.Heif => "heif",
        SKEncodedImageFormat.Avif => "avif",
        SKEncodedImageFormat.Dng => "dng",
        SKEncodedImageFormat.Jpegxl => "jpegxl",
        _ => format.ToString().ToLowerInvariant(),
    };

    private static DecodeResult Unexpected(Exception ex) => ex switch
    {
        OutOfMemoryException or InsufficientMemoryException => DecodeResult.Fail(
            DecodeFailureReason.TooManyPixels,
            $"Not enough memory to decode the image: {ex.Message}"),
        _ => DecodeResult.Fail(
            DecodeFailureReason.Corrupt,
            $"The image could not be decoded: {ex.GetType().Name}: {ex.Message}"),
    };

    /// <summary>The input bytes pinned and wrapped (not copied) for Skia, and the codec reading them.</summary>
    private sealed unsafe class SkiaSource : IDisposable
    {
        private MemoryHandle _pin;
        private readonly SKData _data;
        private readonly SKMemoryStream _stream;

        private SkiaSource(MemoryHandle pin, SKData data, SKMemoryStream stream, SKCodec codec)
        {
            _pin = pin;
            _data = data;
            _stream = stream;
            Codec = codec;
        }

        public SKCodec Codec { get; }

        public static SkiaSource? Open(ReadOnlyMemory<byte> bytes, out DecodeResult? failure)
        {
            failure = null;
            var pin = bytes.Pin();
            SKData? data = null;
            SKMemoryStream? stream = null;
            try
            {
                data = SKData.Create((IntPtr)pin.Pointer, bytes.Length);
                stream = new SKMemoryStream(data);
                var codec = SKCodec.Create(stream, out var result);
                if (codec is null)
                {
                    failure = CreateFailure(bytes.Span, result);
                    stream.Dispose();
                    data.Dispose();
                    pin.Dispose();
                    return null;
                }

                return new SkiaSource(pin, data, stream, codec);
            }
            catch
            {
                stream?.Dispose();
                data?.Dispose();
                pin.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Codec.Dispose();
            _stream.Dispose();
            _data.Dispose();
            _pin.Dispose();
        }

        private static DecodeResult CreateFailure(ReadOnlySpan<byte> bytes, SKCodecResult result)
        {
            var sniffed = Sniff(bytes);
            return result switch
            {
                // Skia also answers IncompleteInput for a short file it cannot sniff (a text file named .jpg):
                // with no image signature at the start it is not a cut image but not an image at all.
                SKCodecResult.IncompleteInput when sniffed is null => NotAnImage(bytes),
                SKCodecResult.IncompleteInput => Incomplete(bytes, sniffed, "inside its header"),
                SKCodecResult.Unimplemented or SKCodecResult.InvalidConversion when sniffed is not null => DecodeResult.Fail(
                    DecodeFailureReason.UnsupportedFormat,
                    $"The file looks like {sniffed}, which this decoder does not support."),
                SKCodecResult.Unimplemented => NotAnImage(bytes),
                _ => DecodeResult.Fail(
                    DecodeFailureReason.Corrupt,
                    $"The {sniffed ?? "image"} header is invalid ({result})."),
            };
        }

        private static DecodeResult NotAnImage(ReadOnlySpan<byte> bytes) => DecodeResult.Fail(
            DecodeFailureReason.NotAnImage,
            $"The {bytes.Length} bytes are not a recognised image format (starts with {Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)])}).");

        /// <summary>Names well-known image signatures, so an unsupported format is told apart from "not an image".</summary>
        private static string? Sniff(ReadOnlySpan<byte> b)
        {
            if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
            {
                return "jpeg";
            }

            if (b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
            {
                return "png";
            }

            if (b.StartsWith("GIF8"u8))
            {
                return "gif";
            }

            if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8))
            {
                return "webp";
            }

            if (b.StartsWith("BM"u8) && b.Length >= 14)
            {
                return "bmp";
            }

            if (b.StartsWith("II*\0"u8) || b.StartsWith("MM\0*"u8))
            {
                return "tiff";
            }

            if (b.Length >= 12 && b[4..8].SequenceEqual("ftyp"u8))
            {
                var brand = b[8..12];
                return brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8) ? "avif"
                    : brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8) ? "heif"
                    : null;
            }

            if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A]) || b.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' ']))
            {
                return "jpeg xl";
            }

            if (b.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ']) || b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x4F, 0xFF, 0x51]))
            {
                return "jpeg 2000";
            }

            if (b.StartsWith("8BPS"u8))
            {
                return "psd";
            }

            return b.StartsWith("qoif"u8) ? "qoi" : null;
        }
    }
}
