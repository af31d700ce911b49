using Labeling.Queues;

namespace Labeling.Functions.Ingest;

/// <summary>Options of the inbox scan (<see cref="InboxScanner"/>), bound from configuration section <c>Ingest</c>.</summary>
public sealed class IngestOptions
{
    /// <summary>The blob prefix scanned: datasets are the folders directly under it. Must end with '/'. Default <c>inbox/</c>.</summary>
    public string Prefix { get; set; } = "inbox/";

    /// <summary>Blob names fetched per listing round trip. Default 1,000.</summary>
    public int ListPageSize { get; set; } = 1000;

    /// <summary>Images registered per store call; the checkpoint advances after each such batch. Default 500.</summary>
    public int RegisterBatchSize { get; set; } = 500;

    /// <summary>Image ids per label-queue message (1–<see cref="LabelMessage.MaxImages"/>). Default 32.</summary>
    public int LabelBatchSize { get; set; } = 32;

    /// <summary>The label queue's name. Default <c>label</c>.</summary>
    public string LabelQueue { get; set; } = "label";

    /// <summary>
    /// The label queues, one per dataset priority, in the order workers take from them:
    /// <c>{LabelQueue}-high</c>, <c>{LabelQueue}</c> (normal), <c>{LabelQueue}-low</c>. Each has its own poison queue.
    /// </summary>
    public IReadOnlyList<string> LabelQueuesByPriority() => [$"{LabelQueue}-high", LabelQueue, $"{LabelQueue}-low"];

    /// <summary>Largest metadata file (tags.csv, tags.jsonl, annotations.json) the scan reads; larger ones are reported and skipped. Default 256 MiB.</summary>
    public long MaxMetadataBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Largest image file accepted, in bytes (at most <see cref="Array.MaxLength"/>: a worker holds one image in one array).
    /// The scan registers a bigger image (from the listing's size) as failed with a <c>too-large</c> reason without reading
    /// it; the label worker checks the blob's size again before it downloads and reads through a stream that stops at the
    /// limit, so a file that grew meanwhile fails that image only. Default 64 MiB.
    /// </summary>
    public long MaxImageBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The failure of an image over <see cref="MaxImageBytes"/> (<c>too-large: …</c>), the same from the scan and the
    /// label worker; <paramref name="size"/> null: the read went past the limit (the file grew, or had no known size).
    /// </summary>
    public string TooLargeReason(long? size) => size is { } bytes
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"too-large: {bytes} bytes is over the {MaxImageBytes}-byte limit (Ingest:MaxImageBytes)")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"too-large: reading it went past the {MaxImageBytes}-byte limit (Ingest:MaxImageBytes); it grew after the size check or its size was not known");

    /// <summary>Most tags one image may carry; tags past it (from folders, tags.csv, tags.jsonl or annotations.json) are refused and reported with file and line. Default 256.</summary>
    public int MaxTagsPerImage { get; set; } = 256;

    /// <summary>Most classes (tag names not seen before) one scan may create; tags naming further new classes are refused and reported with file and line. Default 10,000.</summary>
    public int MaxNewClassesPerScan { get; set; } = 10_000;

    /// <summary>Throws <see cref="ArgumentException"/> when an option is out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Prefix) || !Prefix.EndsWith('/'))
        {
            throw new ArgumentException($"Ingest:Prefix must be a folder name ending with '/', not '{Prefix}'.", nameof(Prefix));
        }

        Labeling.Blobs.BlobName.ValidatePrefix(Prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(ListPageSize, 1, nameof(ListPageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(RegisterBatchSize, 1, nameof(RegisterBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(LabelBatchSize, 1, nameof(LabelBatchSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LabelBatchSize, LabelMessage.MaxImages, nameof(LabelBatchSize));
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelQueue, nameof(LabelQueue));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMetadataBytes, 1, nameof(MaxMetadataBytes));
        if (MaxImageBytes < 1 || MaxImageBytes > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxImageBytes), MaxImageBytes, $"Ingest:MaxImageBytes must be between 1 and {Array.MaxLength} (a worker holds an image in one array).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTagsPerImage, 1, nameof(MaxTagsPerImage));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNewClassesPerScan, 1, nameof(MaxNewClassesPerScan));
    }
}
