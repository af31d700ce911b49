namespace Labeling.Detection;

/// <summary>A scored box in original-image pixels (x1,y1 top-left; x2,y2 bottom-right).</summary>
/// <param name="ClassIndex">Index into the request's vocabulary (region-embedding) or the model's class names (fixed-vocabulary).</param>
/// <param name="X1">Left edge.</param>
/// <param name="Y1">Top edge.</param>
/// <param name="X2">Right edge.</param>
/// <param name="Y2">Bottom edge.</param>
/// <param name="Score">The final score under the model's score rule.</param>
/// <param name="Objectness">The proposal's class-agnostic score (1 for models without one).</param>
/// <param name="ClassScore">The class probability before combining with objectness.</param>
public readonly record struct Detection(int ClassIndex, float X1, float Y1, float X2, float Y2, float Score, float Objectness, float ClassScore)
{
    /// <summary>Box area in square pixels.</summary>
    public float Area => Math.Max(0, X2 - X1) * Math.Max(0, Y2 - Y1);
}

/// <summary>A class-agnostic proposal in original-image pixels (Detic's weak fallback picks the largest).</summary>
public readonly record struct Proposal(float X1, float Y1, float X2, float Y2, float Objectness)
{
    /// <summary>Box area in square pixels.</summary>
    public float Area => Math.Max(0, X2 - X1) * Math.Max(0, Y2 - Y1);
}

/// <summary>What the detector found in one image.</summary>
/// <param name="Detections">Boxes above threshold after per-class NMS, best first, at most the request's maximum.</param>
/// <param name="Proposals">The model's class-agnostic proposals (region-embedding) or its best candidate boxes (fixed-vocabulary), best first.</param>
public sealed record DetectionResult(IReadOnlyList<Detection> Detections, IReadOnlyList<Proposal> Proposals);

/// <summary>What to look for in a batch of images.</summary>
public sealed record DetectionRequest
{
    /// <summary>Class embeddings for a region-embedding model (must be in the model's space); ignored by fixed-vocabulary models.</summary>
    public Labeling.Vocabulary.Vocabulary? Vocabulary { get; init; }

    /// <summary>Per image, the class indices to score (the image's tags); null scores every class for every image.</summary>
    public IReadOnlyList<IReadOnlyList<int>>? ClassesPerImage { get; init; }

    /// <summary>Boxes scoring below this are dropped. Default 0.05.</summary>
    public float ScoreThreshold { get; init; } = 0.05f;

    /// <summary>Per-class thresholds that override <see cref="ScoreThreshold"/>.</summary>
    public IReadOnlyDictionary<int, float>? ClassThresholds { get; init; }

    /// <summary>IoU above which a lower-scored box of the same class is suppressed. Default 0.5.</summary>
    public float NmsIouThreshold { get; init; } = 0.5f;

    /// <summary>Most detections kept per image. Default 100.</summary>
    public int MaxDetectionsPerImage { get; init; } = 100;

    /// <summary>Most proposals returned per image. Default 100.</summary>
    public int MaxProposalsPerImage { get; init; } = 100;

    internal float ThresholdFor(int classIndex) =>
        ClassThresholds is not null && ClassThresholds.TryGetValue(classIndex, out var t) ? t : ScoreThreshold;

    internal void Validate(int images)
    {
        if (ClassesPerImage is not null && ClassesPerImage.Count != images)
        {
            throw new ArgumentException($"ClassesPerImage has {ClassesPerImage.Count} entries for {images} images.");
        }

        if (!(NmsIouThreshold is > 0 and <= 1))
        {
            throw new ArgumentException("NmsIouThreshold must be in (0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDetectionsPerImage, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxProposalsPerImage, 0);
    }
}
