namespace Labeling.Labels;

/// <summary>Where an image is in the labelling loop. Nothing is ever dropped: every image is in exactly one state.</summary>
public enum ImageStatus
{
    /// <summary>Registered, not yet queued.</summary>
    Pending,

    /// <summary>In a label message on the queue.</summary>
    Queued,

    /// <summary>Boxes written by the model in <see cref="ImageRecord.LabelledByModelId"/>.</summary>
    Labelled,

    /// <summary>Gave up; <see cref="ImageRecord.LastError"/> says why.</summary>
    Failed,
}

/// <summary>Who made a box.</summary>
public enum BoxSource
{
    /// <summary>Drawn by a person (COCO annotations at ingest). No model.</summary>
    Human,

    /// <summary>A detector box above the class threshold for one of the image's tags.</summary>
    Pseudo,

    /// <summary>Detic's fallback for a tag with no box above threshold: the largest proposal.</summary>
    Weak,

    /// <summary>A confident box of a class from the global vocabulary that is not among the image's tags.</summary>
    Discovered,
}

/// <summary>What the last labelling said about one image tag.</summary>
public enum TagState
{
    /// <summary>Not labelled by a model yet.</summary>
    Unlabelled,

    /// <summary>At least one box above threshold.</summary>
    Grounded,

    /// <summary>Only the weak fallback box.</summary>
    Weak,
}

/// <summary>Lifecycle of a registered model.</summary>
public enum ModelStatus
{
    Candidate,
    Active,
    Retired,
    Rejected,
}

/// <summary>An image to register.</summary>
/// <param name="BlobPath">Its blob name (unique across the store).</param>
/// <param name="ContentHash">Hex SHA-256 of its bytes (<see cref="Blobs.ContentHash"/>); the same content twice in one dataset is one image.</param>
/// <param name="Width">Pixel width when known.</param>
/// <param name="Height">Pixel height when known.</param>
/// <param name="Split">"train", "val" (the gold set) or null.</param>
/// <param name="ETag">The blob version the hash was computed from (<see cref="Blobs.BlobItem.ETag"/>), when known.</param>
/// <param name="Size">The blob's length in bytes at that version, when known.</param>
/// <param name="FailReason">When set, the image is registered <see cref="ImageStatus.Failed"/> with this as its last error (<c>code: detail</c>).</param>
public sealed record NewImage(string BlobPath, string ContentHash, int? Width = null, int? Height = null, string? Split = null, string? ETag = null, long? Size = null, string? FailReason = null);

/// <summary>How a registration went.</summary>
public enum RegistrationOutcome
{
    /// <summary>A new image row.</summary>
    Created,

    /// <summary>The blob path was registered already; nothing changed.</summary>
    AlreadyRegistered,

    /// <summary>Another blob path of the same dataset has the same content hash; that image's id is returned and no row was added.</summary>
    DuplicateContent,
}

/// <summary>The result of registering one image.</summary>
public sealed record RegisteredImage(long ImageId, string BlobPath, RegistrationOutcome Outcome);

/// <summary>An image as stored.</summary>
public sealed record ImageRecord(
    long Id,
    long DatasetId,
    string BlobPath,
    string ContentHash,
    int? Width,
    int? Height,
    string? Split,
    ImageStatus Status,
    int Attempts,
    string? LastError,
    long? LabelledByModelId);

/// <summary>A tag (image-level label) of an image. The name is normalised on the way in.</summary>
public sealed record ImageTag(long ImageId, string Tag);

/// <summary>A stored tag with its class and state.</summary>
public sealed record ImageTagRecord(long ImageId, long ClassId, string ClassName, TagState State);

/// <summary>One box in input-image pixels (x1,y1 top-left; x2,y2 bottom-right).</summary>
public readonly record struct BoxData(long ClassId, float X1, float Y1, float X2, float Y2, float? Score, BoxSource Source);

/// <summary>The human boxes of one image (replaces that image's earlier human boxes).</summary>
public sealed record ImageBoxes(long ImageId, IReadOnlyList<BoxData> Boxes);

/// <summary>Per-tag outcome of labelling one image.</summary>
public readonly record struct TagGrounding(long ClassId, TagState State);

/// <summary>
/// What one model said about one image: its boxes and, per tag, grounded or weak; and the image's
/// size as decoded (orientation applied), stored when given so that boxes can be drawn and exported.
/// </summary>
public sealed record ImageLabels(long ImageId, IReadOnlyList<BoxData> Boxes, IReadOnlyList<TagGrounding> Tags, int? Width = null, int? Height = null);

/// <summary>A filter over boxes. Null members do not filter. Paged by box id (keyset).</summary>
public sealed record BoxQuery
{
    public string? ClassName { get; init; }
    public float? MinScore { get; init; }
    public string? Dataset { get; init; }
    public BoxSource? Source { get; init; }
    public string? ModelVersion { get; init; }
    public long? ImageId { get; init; }

    /// <summary>Return boxes with ids greater than this (the <see cref="BoxPage.NextAfterId"/> of the previous page).</summary>
    public long AfterId { get; init; }

    /// <summary>Page size, 1–10,000. Default 100.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>A box with what people want to see beside it.</summary>
public sealed record BoxRow(
    long BoxId,
    long ImageId,
    string Dataset,
    string ImagePath,
    string ClassName,
    float X1,
    float Y1,
    float X2,
    float Y2,
    float? Score,
    BoxSource Source,
    string? ModelVersion);

/// <summary>One page of boxes; <see cref="NextAfterId"/> is null on the last page.</summary>
public sealed record BoxPage(IReadOnlyList<BoxRow> Boxes, long? NextAfterId);

/// <summary>An image with the boxes of it that matched a review filter.</summary>
public sealed record ReviewImage(ImageRecord Image, string Dataset, IReadOnlyList<BoxRow> Boxes);

/// <summary>One page of review images; <see cref="NextAfterImageId"/> is null on the last page.</summary>
public sealed record ReviewPage(IReadOnlyList<ReviewImage> Images, long? NextAfterImageId);

/// <summary>A box of a pool image: its class, corners in image pixels, score (null for human boxes), source and model (null for human boxes).</summary>
public sealed record PoolBox(long BoxId, long ClassId, string ClassName, float X1, float Y1, float X2, float Y2, float? Score, BoxSource Source, long? ModelId);

/// <summary>An image of a training pool with its dataset, tags and boxes.</summary>
public sealed record PoolImage(ImageRecord Image, string Dataset, IReadOnlyList<ImageTagRecord> Tags, IReadOnlyList<PoolBox> Boxes);

/// <summary>One page of pool images; <see cref="NextAfterImageId"/> is null on the last page.</summary>
public sealed record PoolPage(IReadOnlyList<PoolImage> Images, long? NextAfterImageId);

/// <summary>Counts of a dataset's images by status, and its boxes.</summary>
public sealed record DatasetProgress(string Dataset, long Images, long Pending, long Queued, long Labelled, long Failed, long Boxes);

/// <summary>A model to register.</summary>
public sealed record NewModel(string Version, string Contract, string BlobUri, string Sha256, string? EmbeddingSpace = null, long? ParentId = null);

/// <summary>A registered model.</summary>
/// <param name="Id">Its row id (boxes refer to it).</param>
/// <param name="Version">The unique version name.</param>
/// <param name="Contract">The detector contract of its file (<c>region-embedding/1</c>, <c>fixed-vocabulary/1</c>).</param>
/// <param name="BlobUri">The blob name of its ONNX file.</param>
/// <param name="Sha256">The hex sha256 of that file.</param>
/// <param name="EmbeddingSpace">The text-embedding space of a region-embedding model.</param>
/// <param name="ParentId">The model it was trained from, when a retraining run made it.</param>
/// <param name="Status">Candidate, active, retired or rejected.</param>
/// <param name="Metrics">The evaluation the promotion gate stored (a JSON object), or null.</param>
/// <param name="StatusReason">Why it has its status when a gate or a person said so (a rejection's reason), or null.</param>
/// <param name="TrainingRunId">The training run that made it, when a retraining run did.</param>
public sealed record ModelRecord(
    long Id, string Version, string Contract, string BlobUri, string Sha256, string? EmbeddingSpace, long? ParentId, ModelStatus Status,
    string? Metrics = null, string? StatusReason = null, long? TrainingRunId = null);

/// <summary>The size of the training pool, for the retrain trigger: images outside the gold split that did not fail, and distinct tag classes.</summary>
public sealed record PoolSummary(long Images, long TagClasses);

/// <summary>How a training run ended (or that it still runs).</summary>
public enum TrainingRunStatus
{
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>A training run of the registry: what it started from, what it made, how it ended.</summary>
/// <param name="Id">Its id (a model's <c>training_run_id</c>).</param>
/// <param name="ParentModelId">The model it warm-started from, or null.</param>
/// <param name="ModelId">The model it registered, once it did.</param>
/// <param name="Status">Running, succeeded, failed or cancelled.</param>
/// <param name="Policy">The pool policy and training settings (JSON).</param>
/// <param name="PoolStats">What the pool held (JSON), once known.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Version">The candidate version it builds (its checkpoint folder's name), when known.</param>
/// <param name="Owner">The process running it (<c>machine/pid/start</c>), when known.</param>
/// <param name="HeartbeatAt">When that process last showed life (UTC).</param>
/// <param name="ResumedFromStep">The checkpoint step it resumed from, when it continued an interrupted run.</param>
/// <param name="StartedAt">When it started (UTC).</param>
public sealed record TrainingRunRecord(
    long Id, long? ParentModelId, long? ModelId, TrainingRunStatus Status, string? Policy, string? PoolStats, string? Error,
    string? Version = null, string? Owner = null, DateTimeOffset? HeartbeatAt = null, int? ResumedFromStep = null, DateTimeOffset? StartedAt = null);

/// <summary>A training run about to start.</summary>
/// <param name="ParentModelId">The model it warm-starts from, or null.</param>
/// <param name="PolicyJson">The pool policy and training settings (a JSON object).</param>
/// <param name="Version">The candidate version it builds.</param>
/// <param name="Owner">The process that runs it (<c>machine/pid/start</c>).</param>
/// <param name="ResumedFromStep">The checkpoint step it resumes from, or null for a fresh start.</param>
public sealed record NewTrainingRun(long? ParentModelId, string PolicyJson, string? Version = null, string? Owner = null, int? ResumedFromStep = null);
