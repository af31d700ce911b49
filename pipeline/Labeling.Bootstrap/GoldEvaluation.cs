using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Evaluation;
using Labeling.Imaging;
using Labeling.Labels;
using Labeling.Vocabulary;
using ClassVocabulary = Labeling.Vocabulary.Vocabulary;

namespace Labeling.Bootstrap;

/// <summary>Options of <see cref="GoldEvaluation"/>.</summary>
public sealed record GoldEvaluationOptions
{
    /// <summary>Only these datasets (gold images and the training pool that defines base classes), or null for all.</summary>
    public IReadOnlyCollection<string>? Datasets { get; init; }

    /// <summary>Images per detector run (default 8).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>ONNX Runtime threads (0: all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Detections below this score are not scored (default 0.001: COCO AP wants the whole precision–recall curve).</summary>
    public float ScoreThreshold { get; init; } = 0.001f;
}

/// <summary>The gold split of the label store and what it needs to score a model.</summary>
/// <param name="GroundTruth">Gold images (split <c>val</c>) and their human boxes; category ids 1…n in <see cref="Classes"/> order.</param>
/// <param name="BlobPaths">Image id → blob path of every gold image.</param>
/// <param name="Classes">Every class with a gold box, ordinal order.</param>
/// <param name="BaseClasses">Classes with human boxes OUTSIDE the gold split (the training pool); every other class is novel.</param>
public sealed record GoldSplit(CocoDataset GroundTruth, IReadOnlyDictionary<long, string> BlobPaths, IReadOnlyList<string> Classes, IReadOnlySet<string> BaseClasses);

/// <summary>
/// Scores a detector on the gold split of the label store: every gold image is run through the model with the
/// whole gold vocabulary (no tags: the detector must find and name objects by itself), and the detections are
/// evaluated as pycocotools would. Novel classes are those without human boxes in the training pool.
/// </summary>
public static class GoldEvaluation
{
    /// <summary>Reads the gold split (and the base classes) from the store.</summary>
    public static async Task<GoldSplit> LoadSplitAsync(ILabelStore store, GoldEvaluationOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new GoldEvaluationOptions();
        var datasets = options.Datasets is null ? null : new HashSet<string>(options.Datasets, StringComparer.Ordinal);
        var baseClasses = new HashSet<string>(StringComparer.Ordinal);
        var gold = new List<PoolImage>();
        long after = 0;
        while (true)
        {
            var page = await store.GetPoolImagesAsync(after, 500, cancellationToken).ConfigureAwait(false);
            foreach (var image in page.Images.Where(i => datasets is null || datasets.Contains(i.Dataset)))
            {
                var human = image.Boxes.Where(b => b.Source == BoxSource.Human);
                if (string.Equals(image.Image.Split, "val", StringComparison.OrdinalIgnoreCase))
                {
                    gold.Add(image with { Boxes = [.. human] });
                }
                else
                {
                    baseClasses.UnionWith(human.Select(b => b.ClassName));
                }
            }

            if (page.NextAfterImageId is not { } next)
            {
                break;
            }

            after = next;
        }

        var classes = gold.SelectMany(i => i.Boxes).Select(b => b.ClassName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0)
        {
            throw new InvalidOperationException("The label store has no gold boxes: give some images human boxes and split \"val\" (docs/ingest.md).");
        }

        var ids = classes.Select((name, i) => (name, id: (long)i + 1)).ToDictionary(p => p.name, p => p.id, StringComparer.Ordinal);
        long annotationId = 0;
        var annotations = gold.SelectMany(i => i.Boxes.Select(b => new CocoAnnotation(
            ++annotationId, i.Image.Id, ids[b.ClassName], new CocoBox(b.X1, b.Y1, b.X2 - b.X1, b.Y2 - b.Y1), (b.X2 - b.X1) * (b.Y2 - b.Y1), false))).ToList();
        var truth = new CocoDataset(gold.Select(i => i.Image.Id), classes.Select(c => new CocoCategory(ids[c], c)), annotations);
        return new GoldSplit(truth, gold.ToDictionary(i => i.Image.Id, i => i.Image.BlobPath), classes, baseClasses);
    }

    /// <summary>Runs <paramref name="modelPath"/> (a region-embedding model in a hashbow space) on every gold image and scores it.</summary>
    public static async Task<(GoldMetrics Metrics, CocoEvaluationResult Result)> EvaluateAsync(
        GoldSplit split, IBlobStore blobs, string modelPath, GoldEvaluationOptions? options, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(blobs);
        options ??= new GoldEvaluationOptions();
        using var detector = OnnxDetector.Load(modelPath, new DetectorOptions { IntraOpThreads = options.Threads });
        if (detector.Info.EmbeddingSpace is not { } space || !HashBowEncoder.TryForSpace(space, out var encoder))
        {
            throw new InvalidOperationException($"'{Path.GetFileName(modelPath)}' is not a region-embedding model in a hashbow space: the gold evaluation encodes class names with hashbow.");
        }

        var vocabulary = ClassVocabulary.Create(encoder, split.Classes);
        var request = new DetectionRequest { Vocabulary = vocabulary, ScoreThreshold = options.ScoreThreshold, MaxDetectionsPerImage = 100, MaxProposalsPerImage = 0 };
        var detections = new List<CocoAnnotation>();
        var imageIds = split.GroundTruth.ImageIds;
        for (var start = 0; start < imageIds.Count; start += options.BatchSize)
        {
            var batchIds = imageIds.Skip(start).Take(options.BatchSize).ToList();
            var images = new List<DecodedImage>(batchIds.Count);
            foreach (var id in batchIds)
            {
                images.Add(await ReadAsync(blobs, split.BlobPaths[id], cancellationToken).ConfigureAwait(false));
            }

            var results = detector.Detect(images, request, cancellationToken);
            for (var i = 0; i < batchIds.Count; i++)
            {
                foreach (var d in results[i].Detections)
                {
                    detections.Add(new CocoAnnotation(detections.Count + 1, batchIds[i], d.ClassIndex + 1, new CocoBox(d.X1, d.Y1, d.X2 - d.X1, d.Y2 - d.Y1), d.Area, false, d.Score));
                }
            }

            progress?.Report(Math.Min(1.0, (start + batchIds.Count) / (double)imageIds.Count));
        }

        var result = CocoEvaluator.Evaluate(split.GroundTruth, detections);
        var at50 = result.PerCategoryAt(0.5);
        double? Mean(IEnumerable<CategoryAveragePrecision> values, bool novel)
        {
            var chosen = values.Where(v => v.AveragePrecision is not null && split.BaseClasses.Contains(v.Name) != novel).Select(v => v.AveragePrecision!.Value).ToList();
            return chosen.Count == 0 ? null : chosen.Average();
        }

        var metrics = new GoldMetrics(
            result.AP, result.AP50,
            Mean(result.PerCategory, novel: false), Mean(result.PerCategory, novel: true),
            Mean(at50, novel: false), Mean(at50, novel: true),
            imageIds.Count, detections.Count);
        return (metrics, result);
    }

    private static async Task<DecodedImage> ReadAsync(IBlobStore blobs, string blobPath, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var stream = await blobs.OpenReadAsync(blobPath, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        var decoded = ImageDecoder.Decode(buffer.ToArray(), new ImageDecodeOptions());
        return decoded.Image ?? throw new InvalidOperationException($"Gold image {blobPath} does not decode: {decoded.Message}");
    }
}
