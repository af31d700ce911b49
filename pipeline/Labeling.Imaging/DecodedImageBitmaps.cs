using SkiaSharp;

namespace Labeling.Imaging;

/// <summary>SkiaSharp views of decoded images, for whatever draws on or re-encodes them (thumbnails, <c>labeling render</c>).</summary>
public static class DecodedImageBitmaps
{
    /// <summary>A new opaque RGBA bitmap with the image's pixels; the caller disposes it.</summary>
    public static SKBitmap ToBitmap(this DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgb = image.Pixels.Span;
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }

        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }
}
