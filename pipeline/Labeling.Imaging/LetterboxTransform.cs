namespace Labeling.Imaging;

/// <summary>
/// How an image was placed into a model input: original pixels were scaled by <paramref name="Scale"/> and
/// shifted by (<paramref name="PadX"/>, <paramref name="PadY"/>). Input = original · Scale + Pad.
/// </summary>
/// <param name="Scale">Model-input pixels per original-image pixel.</param>
/// <param name="PadX">Left padding in input pixels.</param>
/// <param name="PadY">Top padding in input pixels.</param>
/// <param name="OriginalWidth">Full-resolution width of the image (after EXIF orientation).</param>
/// <param name="OriginalHeight">Full-resolution height of the image (after EXIF orientation).</param>
public readonly record struct LetterboxTransform(float Scale, float PadX, float PadY, int OriginalWidth, int OriginalHeight)
{
    /// <summary>Maps a point in model-input pixels to original-image pixels, clamped to [0, OriginalWidth] × [0, OriginalHeight].</summary>
    public (float X, float Y) ToOriginal(float x, float y) =>
        (Math.Clamp((x - PadX) / Scale, 0f, OriginalWidth), Math.Clamp((y - PadY) / Scale, 0f, OriginalHeight));

    /// <summary>Maps a point in original-image pixels to model-input pixels (not clamped).</summary>
    public (float X, float Y) ToInput(float x, float y) => ((x * Scale) + PadX, (y * Scale) + PadY);
}
