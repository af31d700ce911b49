using System.Runtime.CompilerServices;
using Labeling.Blobs;
using Labeling.Imaging;
using Labeling.Labels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Labeling.Trainer.Data;

/// <summary>Options of <see cref="TrainingPool"/>.</summary>
public sealed record TrainingPoolOptions
{
    /// <summary>An image without human boxes is box data when one of its pseudo boxes scores at least this (OWL-ST; default 0.3).</summary>
    public float PseudoImageMinScore { get; init; } = 0.3f;

    /// <summary>Pseudo boxes of such an image are kept when they score at least this (OWL-ST; default 0.1).</summary>
    public float PseudoBoxMinScore { get; init; } = 0.1f;

    /// <summary>
    /// A pseudo-labelled image is box data only when its kept pseudo boxes cover every one of its tags; otherwise it is
    /// tag-only (default true). Box data trains everything outside its boxes as background, so an image with a
    /// "red star" box and an ungrounded "blue hexagon" tag would teach that the hexagon is background.
    /// </summary>
    public bool PseudoBoxesMustCoverTags { get; init; } = true;

    /// <summary>Also use <see cref="BoxSource.Discovered"/> boxes as pseudo boxes (default false: only the image's own tags).</summary>
    public bool IncludeDiscovered { get; init; }

    /// <summary>Also read images whose split is <c>val</c>, the gold set (default false: gold is for evaluation).</summary>
    public bool IncludeGold { get; init; }

    /// <summary>Only these datasets, or null for all.</summary>
    public IReadOnlyCollection<string>? Datasets { get; init; }

    /// <summary>Images per store round trip (1–1,000; default 200).</summary>
    public int PageSize { get; init; } = 200;

    /// <summary>How images are decoded (default: full resolution, the decoder's pixel limit).</summary>
    public ImageDecodeOptions Decode { get; init; } = new();
}

/// <summary>
/// The training pool of the label store, streamed page by page in image id order (the pool need not fit in memory):
/// <list type="bullet">
/// <item>box data: images with human boxes (all of them), and images without human boxes that have a
/// pseudo box scoring ≥ <see cref="TrainingPoolOptions.PseudoImageMinScore"/>, with their pseudo boxes
/// scoring ≥ <see cref="TrainingPoolOptions.PseudoBoxMinScore"/> (OWL-ST's rule), when those boxes cover every tag of
/// the image (<see cref="TrainingPoolOptions.PseudoBoxesMustCoverTags"/>). Weak boxes are never kept.</item>
/// <item>tag-only data: images with tags but no kept box, their tags as image labels.</item>
/// </list>
/// Images of split <c>val</c> (gold) and failed images are left out. Pseudo boxes are those of the model that
/// labelled the image last (see <see cref="ILabelStore.GetPoolImagesAsync"/>).
/// </summary>
public sealed partial class TrainingPool : ITrainingSource
{
    private readonly ILabelStore _store;
    private readonly IBlobStore _blobs;
    private readonly ILogger _logger;
    private readonly HashSet<string>? _datasets;
    private IReadOnlyList<string>? _classNames;

    /// <summary>Creates a pool over a label store and the blob store holding its images.</summary>
    public TrainingPool(ILabelStore store, IBlobStore blobs, TrainingPoolOptions? options = null, ILogger<TrainingPool>? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _blobs = blobs ?? throw new ArgumentNullException(nameof(blobs));
        Options = options ?? new TrainingPoolOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.PageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Options.PageSize, 1000);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _datasets = Options.Datasets is null ? null : new HashSet<string>(Options.Datasets, StringComparer.Ordinal);
    }

    /// <summary>The options.</summary>
    public TrainingPoolOptions Options { get; }

    /// <summary>Images skipped by the last reads because their blob was missing or did not decode.</summary>
    public long Unreadable => Interlocked.Read(ref _unreadable);

    private long _unreadable;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames => _classNames ?? throw new InvalidOperationException("Call CountAsync first: the label space is known after a pass over the pool.");

    /// <inheritdoc />
    public async Task<TrainingSourceCounts> CountAsync(CancellationToken cancellationToken)
    {
        long boxImages = 0, tagOnly = 0, boxes = 0, gold = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (image, selection) in SelectAsync(null, countGold: () => gold++, cancellationToken))
        {
            if (selection.Kind == SampleKind.BoxData)
            {
                boxImages++;
                boxes += selection.Boxes.Count;
            }
            else
            {
                tagOnly++;
            }

            names.UnionWith(selection.Tags);
        }

        _classNames = [.. names.Order(StringComparer.Ordinal)];
        return new TrainingSourceCounts(boxImages, tagOnly, boxes, gold, _classNames);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingSample> ReadAsync(CancellationToken cancellationToken) => ReadCoreAsync(null, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingSample> ReadAsync(SampleKind kind, CancellationToken cancellationToken) => ReadCoreAsync(kind, cancellationToken);

    /// <summary>What the pool rule makes of one store image: null when it is not training data.</summary>
    public (SampleKind Kind, IReadOnlyList<TrainingBox> Boxes, IReadOnlyList<string> Tags)? Select(PoolImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Image.Status == ImageStatus.Failed)
        {
            return null;
        }

        var human = image.Boxes.Where(b => b.Source == BoxSource.Human).ToList();
        List<PoolBox> kept;
        if (human.Count > 0)
        {
            kept = human;
        }
        else
        {
            var pseudo = image.Boxes.Where(b => b.Source == BoxSource.Pseudo || (Options.IncludeDiscovered && b.Source == BoxSource.Discovered)).ToList();
            kept = pseudo.Any(b => b.Score >= Options.PseudoImageMinScore)
                ? [.. pseudo.Where(b => b.Score >= Options.PseudoBoxMinScore)]
                : [];
        }

        var tags = new SortedSet<string>(image.Tags.Select(t => t.ClassName), StringComparer.Ordinal);
        if (human.Count == 0 && kept.Count > 0 && Options.PseudoBoxesMustCoverTags && !tags.IsSubsetOf(kept.Select(b => b.ClassName)))
        {
            kept = [];
        }

        tags.UnionWith(kept.Select(b => b.ClassName));
        if (kept.Count > 0)
        {
            return (SampleKind.BoxData, [.. kept.Select(b => new TrainingBox(b.X1, b.Y1, b.X2, b.Y2, b.ClassName))], [.. tags]);
        }

        return tags.Count > 0 ? (SampleKind.TagOnly, [], [.. tags]) : null;
    }

    private async IAsyncEnumerable<TrainingSample> ReadCoreAsync(SampleKind? kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (image, selection) in SelectAsync(kind, () => { }, cancellationToken))
        {
            var decoded = await LoadAsync(image.Image, cancellationToken).ConfigureAwait(false);
            if (decoded is not null)
            {
                yield return new TrainingSample(image.Image.BlobPath, decoded, selection.Boxes, selection.Tags, selection.Kind);
            }
        }
    }

    private async IAsyncEnumerable<(PoolImage Image, (SampleKind Kind, IReadOnlyList<TrainingBox> Boxes, IReadOnlyList<string> Tags) Selection)> SelectAsync(
        SampleKind? kind, Action countGold, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long after = 0;
        while (true)
        {
            var page = await _store.GetPoolImagesAsync(after, Options.PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var image in page.Images)
            {
                if (_datasets is not null && !_datasets.Contains(image.Dataset))
                {
                    continue;
                }

                if (!Options.IncludeGold && string.Equals(image.Image.Split, "val", StringComparison.OrdinalIgnoreCase))
                {
                    countGold();
                    continue;
                }

                if (Select(image) is { } selection && (kind is null || selection.Kind == kind))
                {
                    yield return (image, selection);
                }
            }

            if (page.NextAfterImageId is not { } next)
            {
                yield break;
            }

            after = next;
        }
    }

    private async Task<DecodedImage?> LoadAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            var stream = await _blobs.OpenReadAsync(image.BlobPath, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                bytes = buffer.ToArray();
            }
        }
        catch (BlobNotFoundException)
        {
            Interlocked.Increment(ref _unreadable);
            LogUnreadable(_logger, image.Id, image.BlobPath, "the blob does not exist");
            return null;
        }

        var result = ImageDecoder.Decode(bytes, Options.Decode);
        if (!result.Success)
        {
            Interlocked.Increment(ref _unreadable);
            LogUnreadable(_logger, image.Id, image.BlobPath, result.Message);
            return null;
        }

        return result.Image;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training pool: image {ImageId} ({BlobPath}) skipped: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, long imageId, string blobPath, string reason);
}
