namespace Labeling.Imaging;

/// <summary>A decoded image: 8-bit RGB, row-major, EXIF orientation applied, alpha composited.</summary>
public sealed class DecodedImage
{
    /// <summary>Wraps RGB pixels; <paramref name="pixels"/> must hold exactly <c>width * height * 3</c> bytes.</summary>
    /// <param name="width">Width of <paramref name="pixels"/>.</param>
    /// <param name="height">Height of <paramref name="pixels"/>.</param>
    /// <param name="originalWidth">Full-resolution width (after orientation); equals <paramref name="width"/> unless decoded at a reduced scale.</param>
    /// <param name="originalHeight">Full-resolution height (after orientation).</param>
    /// <param name="format">Lower-case source format name.</param>
    /// <param name="pixels">Row-major RGB bytes.</param>
    public DecodedImage(int width, int height, int originalWidth, int originalHeight, string format, ReadOnlyMemory<byte> pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfLessThan(originalWidth, width);
        ArgumentOutOfRangeException.ThrowIfLessThan(originalHeight, height);
        ArgumentNullException.ThrowIfNull(format);
        if (pixels.Length != (long)width * height * 3)
        {
            throw new ArgumentException($"Expected {(long)width * height * 3} bytes of RGB pixels for {width}x{height}, got {pixels.Length}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        Format = format;
        Pixels = pixels;
    }

    /// <summary>Width of <see cref="Pixels"/> (smaller than <see cref="OriginalWidth"/> after a reduced-scale decode).</summary>
    public int Width { get; }

    /// <summary>Height of <see cref="Pixels"/>.</summary>
    public int Height { get; }

    /// <summary>Full-resolution width after EXIF orientation: the coordinate space of boxes.</summary>
    public int OriginalWidth { get; }

    /// <summary>Full-resolution height after EXIF orientation.</summary>
    public int OriginalHeight { get; }

    /// <summary>Lower-case source format name (<c>jpeg</c>, <c>png</c>, …).</summary>
    public string Format { get; }

    /// <summary><c>Width * Height * 3</c> bytes, row-major RGB.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }
}
