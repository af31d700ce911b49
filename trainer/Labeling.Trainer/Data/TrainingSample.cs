using Labeling.Imaging;

namespace Labeling.Trainer.Data;

/// <summary>What a sample can teach: boxes (detection loss) or only image-level tags (Detic's classification loss).</summary>
public enum SampleKind
{
    /// <summary>Boxes with classes (human boxes, or pseudo boxes kept by the OWL-ST rule).</summary>
    BoxData,

    /// <summary>Only image-level tags; no box is known.</summary>
    TagOnly,
}

/// <summary>A box in pixels (x1, y1 top-left; x2, y2 bottom-right) and its normalised class name.</summary>
public readonly record struct TrainingBox(float X1, float Y1, float X2, float Y2, string ClassName)
{
    /// <summary>Width (x2 − x1).</summary>
    public float Width => X2 - X1;

    /// <summary>Height (y2 − y1).</summary>
    public float Height => Y2 - Y1;
}

/// <summary>
/// One training image before augmentation: the decoded RGB image, its boxes in ORIGINAL image pixels
/// (<see cref="DecodedImage.OriginalWidth"/> × <see cref="DecodedImage.OriginalHeight"/>, the store's
/// coordinates, also when the image was decoded at a reduced scale), its tags (normalised names) and its kind.
/// </summary>
/// <param name="Id">Where it came from (an image id or a path), for logs.</param>
/// <param name="Image">The decoded image.</param>
/// <param name="Boxes">Boxes (empty for <see cref="SampleKind.TagOnly"/>).</param>
/// <param name="Tags">Image-level class names: for box data, every box class plus the image's tags.</param>
/// <param name="Kind">Box data or tag only.</param>
public sealed record TrainingSample(string Id, DecodedImage Image, IReadOnlyList<TrainingBox> Boxes, IReadOnlyList<string> Tags, SampleKind Kind);

/// <summary>
/// A sample ready for the model: CHW float32 normalised as ((pixel / 255) − mean) / std, letterboxed into
/// <see cref="InputSize"/> × <see cref="InputSize"/>, boxes in input pixels.
/// </summary>
/// <param name="Id">The source sample's id.</param>
/// <param name="Chw">3 · InputSize · InputSize floats, planes R, G, B.</param>
/// <param name="InputSize">Side of the square model input.</param>
/// <param name="Boxes">Boxes in input pixels (clipped to the input, tiny ones dropped).</param>
/// <param name="Tags">Image-level class names.</param>
/// <param name="Kind">Box data or tag only.</param>
public sealed record PreparedSample(string Id, float[] Chw, int InputSize, IReadOnlyList<TrainingBox> Boxes, IReadOnlyList<string> Tags, SampleKind Kind);
