namespace Labeling.Imaging;

/// <summary>What an image's header says, read without decoding pixels.</summary>
/// <param name="Format">Lower-case format name: <c>jpeg</c>, <c>png</c>, <c>gif</c>, <c>webp</c>, <c>bmp</c>, <c>ico</c>, <c>wbmp</c>, …</param>
/// <param name="Width">Width after EXIF orientation (as displayed).</param>
/// <param name="Height">Height after EXIF orientation (as displayed).</param>
/// <param name="Orientation">EXIF orientation, 1 (as stored) to 8.</param>
/// <param name="HasAlpha">Whether the image may have transparent pixels.</param>
/// <param name="FrameCount">Number of frames (1 for still images).</param>
public sealed record ImageHeader(string Format, int Width, int Height, int Orientation, bool HasAlpha, int FrameCount)
{
    /// <summary>Width × Height.</summary>
    public long PixelCount => (long)Width * Height;
}
