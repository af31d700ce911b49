namespace Labeling.Trainer.Data;

/// <summary>Counts of a training source, and its label space.</summary>
/// <param name="BoxImages">Images read as <see cref="SampleKind.BoxData"/>.</param>
/// <param name="TagOnlyImages">Images read as <see cref="SampleKind.TagOnly"/>.</param>
/// <param name="Boxes">Boxes of the box images.</param>
/// <param name="GoldImages">Images left out because their split is <c>val</c> (0 when gold is included).</param>
/// <param name="ClassNames">The label space: normalised class names, ordinal order.</param>
public sealed record TrainingSourceCounts(long BoxImages, long TagOnlyImages, long Boxes, long GoldImages, IReadOnlyList<string> ClassNames);

/// <summary>A stream of training samples (box data and tag-only data) and its label space.</summary>
public interface ITrainingSource
{
    /// <summary>
    /// The label space: the union of the normalised class names of the samples' boxes and tags, in
    /// ordinal order (nothing merged by hand). Class indices of <see cref="BatchSampler.ToTensors"/>
    /// index this list.
    /// </summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>Counts what <see cref="ReadAsync(CancellationToken)"/> yields (without decoding images) and sets <see cref="ClassNames"/>.</summary>
    Task<TrainingSourceCounts> CountAsync(CancellationToken cancellationToken);

    /// <summary>Every sample, streamed in a stable order (images that cannot be read or decoded are skipped).</summary>
    IAsyncEnumerable<TrainingSample> ReadAsync(CancellationToken cancellationToken);

    /// <summary>The samples of one kind only (images of the other kind are not decoded).</summary>
    IAsyncEnumerable<TrainingSample> ReadAsync(SampleKind kind, CancellationToken cancellationToken);
}
