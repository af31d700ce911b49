using SkiaSharp;

namespace Labeling.Imaging;

/// <summary>Small JPEG previews (the review page's tiles), decoded like the workers decode (EXIF orientation applied).</summary>
public static class Thumbnail
{
    /// <summary>
    /// A JPEG of <paramref name="data"/> whose long side is <paramref name="longSide"/> pixels (never
    /// larger than the image), aspect kept, as displayed: the same orientation as the boxes. An image
    /// that cannot be decoded gives its <see cref="DecodeResult"/> failure instead.
    /// </summary>
    public static (byte[]? Jpeg, DecodeResult? Failure) Jpeg(ReadOnlyMemory<byte> data, int longSide, int quality = 80)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(longSide);
        var decoded = ImageDecoder.Decode(data, new ImageDecodeOptions { TargetLongSide = longSide });
        if (!decoded.Success)
        {
            return (null, decoded);
        }

        var image = decoded.Image;
        var scale = Math.Min(1.0, (double)longSide / Math.Max(image.OriginalWidth, image.OriginalHeight));
        var width = Math.Max(1, (int)Math.Round(image.OriginalWidth * scale));
        var height = Math.Max(1, (int)Math.Round(image.OriginalHeight * scale));
        using var source = image.ToBitmap();
        using var resized = width == image.Width && height == image.Height
            ? source.Copy()
            : source.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell));
        using var encoded = resized.Encode(SKEncodedImageFormat.Jpeg, quality);
        return (encoded.ToArray(), null);
    }
}
