using Labeling.Imaging;

namespace Labeling.Detection;

/// <summary>
/// An object detector: decoded images in, scored boxes in original-image pixels out. One
/// instance serves concurrent callers; a batch of images is one model run.
/// </summary>
public interface IDetector : IDisposable
{
    /// <summary>What the model says about itself.</summary>
    DetectorInfo Info { get; }

    /// <summary>The execution provider the session really runs on (<c>cpu</c>, <c>cuda</c>, <c>tensorrt</c>).</summary>
    string ExecutionProvider { get; }

    /// <summary>Detects in a batch of images; the result list is parallel to <paramref name="images"/>.</summary>
    IReadOnlyList<DetectionResult> Detect(IReadOnlyList<DecodedImage> images, DetectionRequest request, CancellationToken cancellationToken);
}
