namespace Labeling.Functions.Ingest;

/// <summary>What one inbox scan did.</summary>
/// <param name="BlobsListed">Blobs the listing returned (from the checkpoint on), images or not.</param>
/// <param name="ImagesCreated">New image rows.</param>
/// <param name="AlreadyRegistered">Image blobs whose path was registered before (a re-scan, or a resumed batch).</param>
/// <param name="ImagesChanged">Registered paths whose bytes changed (a new ETag or length, re-hashed to another SHA-256): back to pending, their model boxes dropped.</param>
/// <param name="Duplicates">New paths whose content the dataset already held: no new row, the existing image got their tags.</param>
/// <param name="TagsAdded">(image, tag) pairs written for newly seen paths and applied metadata files; a pair that existed already counts too (adding is idempotent).</param>
/// <param name="HumanBoxes">Human boxes written from annotations.json files.</param>
/// <param name="MessagesSent">Label-queue messages sent.</param>
/// <param name="Problems">Why something was skipped: refused names, files that are not images, malformed metadata lines (with file and line), images a metadata file names that are not registered. Capped; the log has all.</param>
public sealed record ScanReport(
    int BlobsListed,
    int ImagesCreated,
    int AlreadyRegistered,
    int ImagesChanged,
    int Duplicates,
    int TagsAdded,
    int HumanBoxes,
    int MessagesSent,
    IReadOnlyList<string> Problems);
