namespace Labeling.Imaging;

/// <summary>Options of <see cref="ImageDecoder.Decode"/>.</summary>
public sealed class ImageDecodeOptions
{
    /// <summary>
    /// Largest accepted width × height (of the full-resolution image), checked from the header before any
    /// pixel is decoded. Default 100 000 000.
    /// </summary>
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>
    /// When set, the image is decoded at the smallest reduced scale the codec supports natively
    /// (JPEG: 1/2, 1/4, 1/8) whose long side is still at least this many pixels. Formats without native
    /// scaling are decoded at full resolution. <c>null</c> (default): always full resolution.
    /// </summary>
    public int? TargetLongSide { get; set; }

    /// <summary>Colour that transparent pixels are composited on. Default (114, 114, 114), the letterbox grey.</summary>
    public (byte R, byte G, byte B) Background { get; set; } = (114, 114, 114);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (MaxPixels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "MaxPixels must be positive.");
        }

        if (TargetLongSide is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TargetLongSide), TargetLongSide, "TargetLongSide must be positive when set.");
        }
    }
}
