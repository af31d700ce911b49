using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Ingest;

/// <summary>
/// The inbox scan (docs/ingest.md): lists <c>{Prefix}&lt;dataset&gt;/…</c> from the stored checkpoint,
/// registers images in batches with their folder tags, applies the datasets' tags.csv, tags.jsonl and
/// annotations.json, and sends the pending images to the label queue. Safe to re-run at any point:
/// every step is idempotent, and a crash only repeats work.
/// </summary>
public sealed partial class InboxScanner
{
    private const int MaxProblems = 1000;
    private const int MaxUnknownPathsPerFile = 20;
    private const string AnnotationsFile = "annotations.json";
    private const string CsvFile = "tags.csv";
    private const string JsonLinesFile = "tags.jsonl";

    private static readonly string[] MetadataFiles = [AnnotationsFile, CsvFile, JsonLinesFile];
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp" };

    private readonly IBlobStore _blobs;
    private readonly ILabelStore _store;
    private readonly IWorkQueueFactory _queues;
    private readonly IngestOptions _options;
    private readonly ILogger<InboxScanner> _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _createdLabelQueues = new(StringComparer.Ordinal);

    public InboxScanner(IBlobStore blobs, ILabelStore store, IWorkQueueFactory queues, IOptions<IngestOptions> options, ILogger<InboxScanner> logger)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _options.Validate();
        _blobs = blobs;
        _store = store;
        _queues = queues;
        _logger = logger;
    }

    private string Scope => $"{_blobs.Container}/{_options.Prefix}";

    // Datasets whose metadata files still have to be applied, kept beside the checkpoint so a crash
    // after the checkpoint passed a new image (or a changed metadata file) cannot skip them.
    private string PendingMetadataScope => Scope + "#metadata-pending";

    private string AppliedScope(string metadataBlob) => $"{_blobs.Container}/{metadataBlob}#applied-etag";

    // A duplicate path has no image row (the store returns the existing image instead), so the scan
    // remembers "path → image id, ETag" here: later passes and metadata rows naming the path find the image.
    private string DuplicateScope(string blob) => $"{_blobs.Container}/{blob}#duplicate-of";

    /// <summary>
    /// One pass over the inbox: list from the checkpoint (the rest of an interrupted pass, else from the
    /// start), register new images, apply metadata of the datasets that changed, enqueue pending images.
    /// Problems with single files are reported in <see cref="ScanReport.Problems"/>, never thrown; store
    /// or network failures are thrown, and the next scan resumes from the last checkpoint.
    /// </summary>
    public async Task<ScanReport> ScanAsync(CancellationToken cancellationToken)
    {
        var run = new ScanRun(this);
        var checkpoint = await _store.GetCheckpointAsync(Scope, cancellationToken);
        if (checkpoint is { Length: 0 })
        {
            checkpoint = null;
        }

        var pendingText = await _store.GetCheckpointAsync(PendingMetadataScope, cancellationToken);
        foreach (var dataset in (pendingText ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            run.PendingDatasets.Add(dataset);
        }

        LogScanStarting(Scope, checkpoint ?? "(start)");
        var batch = new List<Candidate>(_options.RegisterBatchSize);
        string? last = null;
        var sinceCheckpoint = 0;
        await foreach (var item in _blobs.ListAsync(_options.Prefix, checkpoint, _options.ListPageSize, cancellationToken))
        {
            run.Listed++;
            last = item.Name;
            sinceCheckpoint++;
            await ClassifyAsync(run, item, batch, cancellationToken);
            if (sinceCheckpoint >= _options.RegisterBatchSize)
            {
                await FlushAsync(run, batch, last, cancellationToken);
                sinceCheckpoint = 0;
            }
        }

        if (sinceCheckpoint > 0)
        {
            await FlushAsync(run, batch, last!, cancellationToken);
        }

        foreach (var dataset in run.PendingDatasets.Order(StringComparer.Ordinal).ToList())
        {
            await ApplyMetadataAsync(run, dataset, cancellationToken);
        }

        if (!string.IsNullOrEmpty(pendingText) || run.PendingDatasets.Count > 0)
        {
            await _store.SetCheckpointAsync(PendingMetadataScope, "", cancellationToken);
        }

        // The pass is complete: the next scan starts a new one from the beginning, so files dropped
        // under names that sort before this pass's last name are found too (known paths cost one lookup).
        if (checkpoint is not null || last is not null)
        {
            await _store.SetCheckpointAsync(Scope, "", cancellationToken);
        }

        run.ReportRefusals();
        var messages = await EnqueuePendingAsync(null, cancellationToken);
        var report = run.ToReport(messages);
        LogScanFinished(Scope, report.BlobsListed, report.ImagesCreated, report.AlreadyRegistered, report.Duplicates, report.TagsAdded, report.HumanBoxes, report.MessagesSent, run.ProblemCount);
        return report;
    }

    /// <summary>
    /// Sends every pending image (of <paramref name="dataset"/>, or all) to the label queue in messages of
    /// <see cref="IngestOptions.LabelBatchSize"/> ids, each batch claimed first (<see cref="ILabelStore.ClaimPendingAsync"/>):
    /// of a scan, a relabel and another host enqueueing at once, each image goes in one message. Returns the messages sent.
    /// A send that fails gives its images back (pending); the next call sends them.
    /// </summary>
    public Task<int> EnqueuePendingAsync(string? dataset, CancellationToken cancellationToken) =>
        EnqueuePendingAsync(dataset, weakTagsFirst: false, cancellationToken);

    /// <summary>
    /// As above; with <paramref name="weakTagsFirst"/> the pending images that have a weak tag (no box found for it last
    /// time) are sent before the rest, so a relabel generation spends the new model on them first.
    /// </summary>
    public async Task<int> EnqueuePendingAsync(string? dataset, bool weakTagsFirst, CancellationToken cancellationToken)
    {
        var sent = 0;
        if (weakTagsFirst)
        {
            sent += await EnqueueAsync(dataset, weakTagsOnly: true, cancellationToken);
        }

        // Images queued by the first pass are no longer pending: this pass sends the rest.
        return sent + await EnqueueAsync(dataset, weakTagsOnly: false, cancellationToken);
    }

    // Dataset control (docs/workers.md): each dataset's images go to its priority's queue, one dataset per message, with
    // its id and generation; a paused dataset queues nothing. A batch is claimed only while the generation it is sent under
    // is current (the claim locks the dataset row, as a cancel does), so a cancel never leaves an image stuck queued.
    private async Task<int> EnqueueAsync(string? dataset, bool weakTagsOnly, CancellationToken cancellationToken)
    {
        IReadOnlyList<DatasetControlRecord> datasets = dataset is null
            ? await _store.ListDatasetControlsAsync(cancellationToken)
            : await _store.GetDatasetControlAsync(dataset, cancellationToken) is { } one ? [one] : [];
        var sent = 0;
        foreach (var control in datasets)
        {
            if (control.State == DatasetState.Paused)
            {
                LogPausedNotQueued(control.Name);
                continue;
            }

            var queue = await LabelQueueAsync(control.Priority, cancellationToken);
            var afterId = 0L;
            while (true)
            {
                var batch = Guid.Empty;
                var ids = await _store.ClaimPendingAsync(control.Id, control.Generation, afterId, _options.LabelBatchSize, weakTagsOnly, async (claimed, ct) =>
                {
                    var message = LabelMessage.Create(claimed, control.Id, control.Generation);
                    await queue.SendAsync(message.ToJson(), null, ct);
                    batch = message.Batch;
                }, cancellationToken);
                if (ids.Count == 0)
                {
                    break; // nothing left, or the dataset was cancelled or moved meanwhile (a new generation)
                }

                LogBatchQueued(batch, ids.Count, queue.Name);
                sent++;
                afterId = ids[^1];
            }
        }

        return sent;
    }

    private async Task<IWorkQueue> LabelQueueAsync(DatasetPriority priority, CancellationToken cancellationToken)
    {
        var names = _options.LabelQueuesByPriority();
        var queue = _queues.GetQueue(priority switch
        {
            DatasetPriority.High => names[0],
            DatasetPriority.Low => names[2],
            _ => names[1],
        });
        if (_createdLabelQueues.TryAdd(queue.Name, true))
        {
            try
            {
                await queue.CreateIfNotExistsAsync(cancellationToken);
            }
            catch
            {
                _createdLabelQueues.TryRemove(queue.Name, out _);
                throw;
            }
        }

        return queue;
    }

    private async Task ClassifyAsync(ScanRun run, BlobItem item, List<Candidate> batch, CancellationToken cancellationToken)
    {
        var name = item.Name;
        if (BlobName.FindProblem(name) is { } refused)
        {
            run.Problem($"{BlobName.Printable(name)}: skipped, the name is refused by the stores: {refused}");
            return;
        }

        var relative = name[_options.Prefix.Length..];
        var slash = relative.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            run.Problem($"{BlobName.Printable(name)}: skipped, not inside a dataset folder (expected {_options.Prefix}<dataset>/…)");
            return;
        }

        var dataset = relative[..slash];
        var inDataset = relative[(slash + 1)..];
        if (MetadataFiles.Contains(inDataset, StringComparer.Ordinal))
        {
            var applied = await _store.GetCheckpointAsync(AppliedScope(name), cancellationToken);
            if (!string.Equals(applied, item.ETag, StringComparison.Ordinal))
            {
                run.MarkPending(dataset);
            }

            return;
        }

        var fileName = inDataset[(inDataset.LastIndexOf('/') + 1)..];
        var dot = fileName.LastIndexOf('.');
        if (dot < 0 || !ImageExtensions.Contains(fileName[dot..]))
        {
            run.Problem($"{BlobName.Printable(name)}: skipped, not an image file ({string.Join(' ', ImageExtensions)})");
            return;
        }

        // The folder directly containing the image is its tag, however deep it is.
        string? tag = null;
        var folderEnd = inDataset.LastIndexOf('/');
        if (folderEnd >= 0)
        {
            var folders = inDataset[..folderEnd];
            tag = run.CheckTag(folders[(folders.LastIndexOf('/') + 1)..], $"{BlobName.Printable(name)}: folder");
        }

        batch.Add(new Candidate(name, dataset, tag, item.ETag, item.Size));
    }

    private async Task FlushAsync(ScanRun run, List<Candidate> batch, string last, CancellationToken cancellationToken)
    {
        if (batch.Count > 0)
        {
            await RegisterAsync(run, batch, cancellationToken);
            batch.Clear();
        }

        if (run.PendingDirty)
        {
            await _store.SetCheckpointAsync(PendingMetadataScope, string.Join('\n', run.PendingDatasets.Order(StringComparer.Ordinal)), cancellationToken);
            run.PendingDirty = false;
        }

        // After the pending datasets are stored: a remembered duplicate is not new to the next pass.
        foreach (var (blob, alias) in run.NewDuplicates)
        {
            await _store.SetCheckpointAsync(DuplicateScope(blob), alias, cancellationToken);
        }

        run.NewDuplicates.Clear();

        await _store.SetCheckpointAsync(Scope, last, cancellationToken);
        LogCheckpoint(Scope, last);
    }

    private async Task RegisterAsync(ScanRun run, List<Candidate> batch, CancellationToken cancellationToken)
    {
        // Paths registered before (an earlier pass) cost one lookup per batch, not a write each; only those whose
        // version (ETag, length) differs from the one they were hashed from are read again.
        var known = await _store.GetImageBlobsAsync(batch.Select(c => c.Name).ToList(), cancellationToken);

        // Re-asserted folder tags of known paths go straight in (they were admitted when the path was new).
        var tags = new List<ImageTag>();
        var folderTags = new List<(ImageTag Tag, string Source, string Place)>();
        var rehash = batch.Where(c => known.TryGetValue(c.Name, out var stored) && NeedsRehash(c, stored)).Select(c => (c, known[c.Name])).ToList();
        if (rehash.Count > 0)
        {
            // Before the new paths: a copy in this batch of a re-hashed legacy (MD5) image is then found as a duplicate.
            await RehashAsync(run, rehash, cancellationToken);
        }

        foreach (var group in batch.GroupBy(c => c.Dataset, StringComparer.Ordinal))
        {
            var fresh = new List<Candidate>();
            foreach (var candidate in group)
            {
                var existing = known.TryGetValue(candidate.Name, out var stored) ? stored.ImageId : await KnownDuplicateAsync(candidate, cancellationToken);
                if (existing is { } id)
                {
                    run.AlreadyRegistered++;
                    if (candidate.Tag is not null)
                    {
                        // Re-asserted (a no-op) in case a crash came between registering and tagging.
                        tags.Add(new ImageTag(id, candidate.Tag));
                    }
                }
                else
                {
                    fresh.Add(candidate);
                }
            }

            if (fresh.Count == 0)
            {
                continue;
            }

            var datasetId = await run.GetDatasetIdAsync(group.Key, cancellationToken);
            var cocoImages = await run.GetCocoImagesAsync(group.Key, cancellationToken);
            var images = new List<NewImage>(fresh.Count);
            var registering = new List<Candidate>(fresh.Count);
            foreach (var candidate in fresh)
            {
                cocoImages.TryGetValue(candidate.Name, out var coco);
                var (hash, tooLarge) = await HashAsync(candidate, withMd5: false, cancellationToken);
                if (tooLarge is not null)
                {
                    // Registered, not skipped: the image is listed in `labeling failures` with its reason, and a smaller
                    // file dropped under the same name later is re-hashed and labelled.
                    run.Problem($"{BlobName.Printable(candidate.Name)}: registered as failed, {tooLarge}");
                    images.Add(new NewImage(candidate.Name, TooLargeMarker(candidate), coco?.Width, coco?.Height, coco?.Split, candidate.ETag, candidate.Size, tooLarge));
                    registering.Add(candidate);
                    continue;
                }

                if (hash is null)
                {
                    run.Problem($"{BlobName.Printable(candidate.Name)}: skipped, it was deleted while the scan ran");
                    continue;
                }

                images.Add(new NewImage(candidate.Name, hash.Sha256, coco?.Width, coco?.Height, coco?.Split, candidate.ETag, candidate.Size));
                registering.Add(candidate);
            }

            if (images.Count == 0)
            {
                continue;
            }

            var registered = await _store.RegisterImagesAsync(datasetId, images, cancellationToken);
            for (var i = 0; i < registered.Count; i++)
            {
                var result = registered[i];
                switch (result.Outcome)
                {
                    case RegistrationOutcome.Created:
                        run.Created++;
                        break;
                    case RegistrationOutcome.DuplicateContent:
                        run.Duplicates++;
                        run.NewDuplicates.Add((result.BlobPath, $"{result.ImageId} {registering[i].ETag}"));
                        LogDuplicate(BlobName.Printable(result.BlobPath), result.ImageId);
                        break;
                    default:
                        run.AlreadyRegistered++;
                        break;
                }

                if (result.Outcome != RegistrationOutcome.AlreadyRegistered)
                {
                    // New images (and new copies) pick up the rows their dataset's metadata files hold.
                    run.MarkPending(group.Key);
                    if (registering[i].Tag is { } tag)
                    {
                        folderTags.Add((new ImageTag(result.ImageId, tag), $"{_options.Prefix}{group.Key}/", BlobName.Printable(result.BlobPath[(_options.Prefix.Length + group.Key.Length + 1)..])));
                    }
                }
            }
        }

        if (folderTags.Count > 0)
        {
            var admitted = await run.AdmitTagsAsync(folderTags, cancellationToken);
            tags.AddRange(admitted);
            run.TagsAdded += admitted.Count;
        }

        if (tags.Count > 0)
        {
            await _store.AddTagsAsync(tags, cancellationToken);
        }

        LogBatchRegistered(batch.Count, batch[^1].Name);
    }

    // A known path is read again only when its listing shows another version than the one it was hashed from, or its
    // hash is no SHA-256 yet (rows from before migration 0005, or an image registered while over the size limit).
    private bool NeedsRehash(Candidate candidate, ImageBlob stored)
    {
        var sameVersion = string.Equals(stored.ETag, candidate.ETag, StringComparison.Ordinal) && stored.Size == candidate.Size;
        if (candidate.Size > _options.MaxImageBytes)
        {
            // A new version over the limit fails (without a read); an unchanged one, or a legacy row that cannot be
            // checked without reading it whole, stays as it is.
            return !sameVersion && stored.ETag is not null;
        }

        return !(sameVersion && ContentHash.IsSha256(stored.ContentHash));
    }

    private async Task RehashAsync(ScanRun run, List<(Candidate Candidate, ImageBlob Stored)> rehash, CancellationToken cancellationToken)
    {
        var updates = new List<ImageContent>(rehash.Count);
        var names = new Dictionary<long, string>();
        foreach (var (candidate, stored) in rehash)
        {
            var (hash, tooLarge) = await HashAsync(candidate, withMd5: ContentHash.IsLegacyMd5(stored.ContentHash), cancellationToken);
            if (tooLarge is not null)
            {
                updates.Add(new ImageContent(stored.ImageId, TooLargeMarker(candidate), candidate.ETag, candidate.Size, Changed: true, tooLarge));
            }
            else if (hash is null)
            {
                run.Problem($"{BlobName.Printable(candidate.Name)}: not re-hashed, it was deleted while the scan ran");
                continue;
            }
            else
            {
                var same = string.Equals(hash.Sha256, stored.ContentHash, StringComparison.Ordinal)
                    || string.Equals(hash.Md5, stored.ContentHash, StringComparison.Ordinal);
                updates.Add(new ImageContent(stored.ImageId, hash.Sha256, candidate.ETag, candidate.Size, Changed: !same));
            }

            names[stored.ImageId] = candidate.Name;
        }

        var byId = updates.ToDictionary(u => u.ImageId);
        foreach (var result in await _store.UpdateContentAsync(updates, cancellationToken))
        {
            var blob = BlobName.Printable(names[result.ImageId]);
            switch (result.Outcome)
            {
                case ContentUpdateOutcome.Reset:
                    run.Changed++;
                    var failed = byId[result.ImageId].FailReason;
                    if (failed is null)
                    {
                        LogContentChanged(blob, result.ImageId);
                    }
                    else
                    {
                        run.Problem($"{blob}: its new bytes were not read, {failed}; image {result.ImageId} is failed");
                    }

                    break;
                case ContentUpdateOutcome.DuplicateContent when byId[result.ImageId].Changed:
                    run.Changed++;
                    run.Problem($"{blob}: its new bytes are those of image {result.DuplicateOf}; image {result.ImageId} is failed (duplicate-content)");
                    break;
                case ContentUpdateOutcome.DuplicateContent:
                    run.Problem($"{blob}: has the bytes of image {result.DuplicateOf} too (both registered before SHA-256 hashing); its hash stays the old MD5");
                    break;
            }
        }
    }

    /// <summary>SHA-256 of the candidate's bytes, read through a stream that stops at the size limit; or why it is refused (from the listing's size, or because it grew while read); null hash: deleted.</summary>
    private async Task<(ContentHashes? Hash, string? TooLarge)> HashAsync(Candidate candidate, bool withMd5, CancellationToken cancellationToken)
    {
        if (candidate.Size > _options.MaxImageBytes)
        {
            return (null, _options.TooLargeReason(candidate.Size));
        }

        try
        {
            return (await ContentHash.ComputeAsync(_blobs, candidate.Name, _options.MaxImageBytes, withMd5, cancellationToken), null);
        }
        catch (BlobTooLargeException)
        {
            return (null, _options.TooLargeReason(null));
        }
    }

    // An image over the limit is never read, so it has no content hash: it gets one that names its path and version
    // and can never equal a SHA-256 (so it is re-hashed once the file or the limit changes).
    private const string TooLargeMarkerPrefix = "too-large:";

    private static string TooLargeMarker(Candidate candidate) =>
        TooLargeMarkerPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{candidate.Name}\n{candidate.ETag}")))[..32];


    private async Task<long?> KnownDuplicateAsync(Candidate candidate, CancellationToken cancellationToken)
    {
        var alias = await _store.GetCheckpointAsync(DuplicateScope(candidate.Name), cancellationToken);
        return ParseAlias(alias) is { } known && known.ETag == candidate.ETag ? known.ImageId : null;
    }

    private static (long ImageId, string ETag)? ParseAlias(string? alias)
    {
        var space = alias?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        return space > 0 && long.TryParse(alias.AsSpan(0, space), System.Globalization.CultureInfo.InvariantCulture, out var id) ? (id, alias![(space + 1)..]) : null;
    }

    /// <summary>Blob path → image id for metadata rows: registered paths, then remembered duplicate paths.</summary>
    private async Task<Dictionary<string, long>> ResolveImagesAsync(List<string> blobs, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, long>(await _store.GetImageIdsByPathAsync(blobs, cancellationToken), StringComparer.Ordinal);
        foreach (var blob in blobs.Where(b => !ids.ContainsKey(b)).Distinct(StringComparer.Ordinal).ToList())
        {
            if (ParseAlias(await _store.GetCheckpointAsync(DuplicateScope(blob), cancellationToken)) is { } alias)
            {
                ids[blob] = alias.ImageId;
            }
        }

        return ids;
    }

    private async Task ApplyMetadataAsync(ScanRun run, string dataset, CancellationToken cancellationToken)
    {
        foreach (var file in MetadataFiles)
        {
            var name = $"{_options.Prefix}{dataset}/{file}";
            var counts = new FileCounts(name);
            string etag;
            if (file == AnnotationsFile)
            {
                // Read at most once per scan: registration may have read it already (for splits and sizes).
                if (await run.ReadCocoAsync(dataset, revalidate: true, cancellationToken) is not { } coco)
                {
                    continue;
                }

                run.ForgetCoco(dataset);
                if (coco.Failure is not null)
                {
                    run.Problem($"{BlobName.Printable(name)}: {coco.Failure}");
                    if (!coco.Record)
                    {
                        continue;
                    }
                }
                else
                {
                    await ApplyAnnotationsAsync(run, dataset, counts, coco.Annotations!, cancellationToken);
                }

                etag = coco.ETag;
            }
            else
            {
                var properties = await _blobs.GetPropertiesAsync(name, cancellationToken);
                if (properties is null)
                {
                    continue;
                }

                if (properties.Size > _options.MaxMetadataBytes)
                {
                    run.Problem($"{BlobName.Printable(name)}: skipped, {properties.Size} bytes is over the {_options.MaxMetadataBytes}-byte limit (Ingest:MaxMetadataBytes)");
                    continue;
                }

                try
                {
                    await using var stream = new LengthLimitedStream(await _blobs.OpenReadAsync(name, cancellationToken), _options.MaxMetadataBytes, name);
                    using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
                    var rows = file == CsvFile
                        ? TagFileReader.ReadCsvAsync(reader, cancellationToken)
                        : TagFileReader.ReadJsonLinesAsync(reader, cancellationToken);
                    await ApplyTagRowsAsync(run, dataset, counts, rows, cancellationToken);
                }
                catch (BlobNotFoundException)
                {
                    run.Problem($"{BlobName.Printable(name)}: skipped, it was deleted while the scan ran");
                    continue;
                }
                catch (BlobTooLargeException)
                {
                    // The rows before the limit are applied (adding tags is idempotent); the file's new ETag brings it back next pass.
                    run.Problem($"{BlobName.Printable(name)}: it grew past the {_options.MaxMetadataBytes}-byte limit (Ingest:MaxMetadataBytes) while it was read; the rest of the file is not applied");
                }

                etag = properties.ETag;
            }

            counts.ReportRest(run);

            // Recorded after applying: a crash before this line applies the file again (idempotent).
            await _store.SetCheckpointAsync(AppliedScope(name), etag, cancellationToken);
            LogMetadataApplied(BlobName.Printable(name), counts.Tags, counts.Boxes);
        }
    }

    private async Task ApplyTagRowsAsync(ScanRun run, string dataset, FileCounts counts, IAsyncEnumerable<TagFileEntry> rows, CancellationToken cancellationToken)
    {
        var chunk = new List<(TagFileEntry Row, string Blob)>(_options.RegisterBatchSize);
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            if (row.Error is not null)
            {
                counts.ReportError(run, $"{BlobName.Printable(counts.File)}: line {row.Line}: {row.Error}");
                continue;
            }

            if (ResolvePath(run, dataset, row.Path, $"{BlobName.Printable(counts.File)}: line {row.Line}") is { } blob)
            {
                chunk.Add((row, blob));
            }

            if (chunk.Count >= _options.RegisterBatchSize)
            {
                await ApplyTagChunkAsync(run, counts, chunk, cancellationToken);
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            await ApplyTagChunkAsync(run, counts, chunk, cancellationToken);
        }
    }

    private async Task ApplyTagChunkAsync(ScanRun run, FileCounts counts, List<(TagFileEntry Row, string Blob)> chunk, CancellationToken cancellationToken)
    {
        var ids = await ResolveImagesAsync(chunk.Select(c => c.Blob).ToList(), cancellationToken);
        var file = BlobName.Printable(counts.File);
        var candidates = new List<(ImageTag Tag, string Source, string Place)>();
        foreach (var (row, blob) in chunk)
        {
            var where = $"{file}: line {row.Line}";
            if (!ids.TryGetValue(blob, out var id))
            {
                counts.ReportUnknown(run, $"{where}: '{BlobName.Printable(row.Path)}' is not a registered image");
                continue;
            }

            foreach (var raw in row.Tags)
            {
                if (run.CheckTag(raw, where) is { } tag)
                {
                    candidates.Add((new ImageTag(id, tag), file, $"line {row.Line}"));
                }
            }
        }

        var tags = candidates.Count == 0 ? [] : await run.AdmitTagsAsync(candidates, cancellationToken);
        if (tags.Count > 0)
        {
            await _store.AddTagsAsync(tags, cancellationToken);
            counts.Tags += tags.Count;
            run.TagsAdded += tags.Count;
        }
    }

    private async Task ApplyAnnotationsAsync(ScanRun run, string dataset, FileCounts counts, CocoAnnotations coco, CancellationToken cancellationToken)
    {
        var file = BlobName.Printable(counts.File);
        foreach (var error in coco.Errors)
        {
            run.Problem($"{file}: {error}");
        }

        if (coco.MoreErrors > 0)
        {
            run.Problem($"{file}: … and {coco.MoreErrors} more errors in this file");
        }

        // Category id → class id; a category whose name is not a valid tag loses its boxes and tags.
        var categoryTags = new Dictionary<long, string>();
        foreach (var (id, name) in coco.Categories)
        {
            if (run.CheckTag(name, $"{file}: category {id}") is { } tag && await run.AdmitClassAsync(tag, file, $"category {id}", cancellationToken))
            {
                categoryTags[id] = tag;
            }
        }

        var classIds = categoryTags.Count == 0
            ? new Dictionary<string, long>()
            : await _store.EnsureClassesAsync(categoryTags.Values.Distinct(StringComparer.Ordinal), cancellationToken);
        var annotationsByImage = coco.Annotations.ToLookup(a => a.ImageId);

        foreach (var chunk in coco.Images.Chunk(_options.RegisterBatchSize))
        {
            var blobs = new List<(CocoImage Image, string Blob)>(chunk.Length);
            foreach (var image in chunk)
            {
                if (ResolvePath(run, dataset, image.FileName, $"{file}: image {image.Id}") is { } blob)
                {
                    blobs.Add((image, blob));
                }
            }

            var ids = await ResolveImagesAsync(blobs.Select(b => b.Blob).ToList(), cancellationToken);
            var boxes = new Dictionary<long, List<BoxData>>();
            var tags = new HashSet<ImageTag>();
            var candidates = new List<(ImageTag Tag, string Source, string Place)>();
            var pendingBoxes = new List<(ImageTag Tag, BoxData Box)>();
            var gold = new List<(long Id, string Blob)>();
            foreach (var (image, blob) in blobs)
            {
                if (!ids.TryGetValue(blob, out var id))
                {
                    counts.ReportUnknown(run, $"{file}: image {image.Id}: '{BlobName.Printable(image.FileName)}' is not a registered image");
                    continue;
                }

                if (image.Split == "val")
                {
                    gold.Add((id, blob));
                }

                boxes.TryAdd(id, []);

                foreach (var annotation in annotationsByImage[image.Id])
                {
                    if (!categoryTags.TryGetValue(annotation.CategoryId, out var tag))
                    {
                        continue;
                    }

                    var imageTag = new ImageTag(id, tag);
                    if (tags.Add(imageTag))
                    {
                        candidates.Add((imageTag, file, $"image {image.Id}"));
                    }

                    if (!annotation.Crowd)
                    {
                        pendingBoxes.Add((imageTag, new BoxData(classIds[tag], annotation.X, annotation.Y, annotation.X + annotation.Width, annotation.Y + annotation.Height, null, BoxSource.Human)));
                    }
                }
            }

            // A tag over the image's cap takes its boxes with it: no box of a class the image is not tagged with.
            tags = candidates.Count == 0 ? [] : [.. await run.AdmitTagsAsync(candidates, cancellationToken)];
            foreach (var (imageTag, box) in pendingBoxes.Where(p => tags.Contains(p.Tag)))
            {
                boxes[imageTag.ImageId].Add(box);
            }

            await ReportSplitMismatchAsync(run, file, gold, cancellationToken);
            if (tags.Count > 0)
            {
                await _store.AddTagsAsync(tags.ToList(), cancellationToken);
                counts.Tags += tags.Count;
                run.TagsAdded += tags.Count;
            }

            if (boxes.Count > 0)
            {
                await _store.ReplaceHumanBoxesAsync(boxes.Select(b => new ImageBoxes(b.Key, b.Value)).ToList(), cancellationToken);
                var written = boxes.Values.Sum(b => b.Count);
                counts.Boxes += written;
                run.HumanBoxes += written;
            }
        }
    }

    // The split is set when an image is first registered; the store has no call to change it later.
    private async Task ReportSplitMismatchAsync(ScanRun run, string file, List<(long Id, string Blob)> gold, CancellationToken cancellationToken)
    {
        if (gold.Count == 0)
        {
            return;
        }

        var records = await _store.GetImagesAsync(gold.Select(g => g.Id).Distinct().ToList(), cancellationToken);
        foreach (var record in records.Where(r => r.Split != "val"))
        {
            run.Problem($"{file}: '{BlobName.Printable(record.BlobPath)}' is marked val but was registered as {record.Split ?? "no split"} before; its split is not changed");
        }
    }

    private static string? ResolvePath(ScanRun run, string dataset, string relative, string where)
    {
        var path = relative.Trim().Normalize(NormalizationForm.FormC);
        while (path.StartsWith("./", StringComparison.Ordinal))
        {
            path = path[2..];
        }

        var blob = $"{run.Prefix}{dataset}/{path}";
        if (BlobName.FindProblem(blob) is { } problem)
        {
            run.Problem($"{where}: '{BlobName.Printable(relative)}' is not a usable path ({problem})");
            return null;
        }

        return blob;
    }

    private enum RefusalKind
    {
        TagsPerImage,
        NewClasses,
    }

    private sealed class Refused
    {
        public int Count { get; set; }

        public List<string> Places { get; } = [];
    }

    /// <summary>One read of an annotations.json: the parse, or why it failed (and whether its ETag is recorded as applied anyway).</summary>
    private sealed record CocoRead(string ETag, CocoAnnotations? Annotations, string? Failure, bool Record);

    private sealed record Candidate(string Name, string Dataset, string? Tag, string ETag, long Size);

    private sealed class FileCounts(string file)
    {
        public string File { get; } = file;

        public int Tags { get; set; }

        public int Boxes { get; set; }

        public int UnknownPaths { get; private set; }

        public int Errors { get; private set; }

        public void ReportUnknown(ScanRun run, string problem)
        {
            if (++UnknownPaths <= MaxUnknownPathsPerFile)
            {
                run.Problem(problem);
            }
        }

        /// <summary>A malformed row: the first <see cref="CocoAnnotations.MaxListedErrors"/> of a file are reported, the rest counted.</summary>
        public void ReportError(ScanRun run, string problem)
        {
            if (++Errors <= CocoAnnotations.MaxListedErrors)
            {
                run.Problem(problem);
            }
        }

        /// <summary>The one-line summaries of what was counted but not listed.</summary>
        public void ReportRest(ScanRun run)
        {
            if (Errors > CocoAnnotations.MaxListedErrors)
            {
                run.Problem($"{BlobName.Printable(File)}: … and {Errors - CocoAnnotations.MaxListedErrors} more errors in this file");
            }

            if (UnknownPaths > MaxUnknownPathsPerFile)
            {
                run.Problem($"{BlobName.Printable(File)}: {UnknownPaths - MaxUnknownPathsPerFile} more rows name images that are not registered");
            }
        }
    }

    /// <summary>The state of one scan: counters, problems, per-dataset caches.</summary>
    private sealed class ScanRun(InboxScanner scanner)
    {
        private readonly List<string> _problems = [];
        private readonly Dictionary<string, long> _datasetIds = new(StringComparer.Ordinal);
        private const int MaxRefusalPlaces = 10;
        private readonly Dictionary<string, CocoRead> _coco = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Source, RefusalKind Kind), Refused> _refusals = [];
        private HashSet<string>? _knownClasses;
        private int _newClasses;

        public string Prefix => scanner._options.Prefix;

        public HashSet<string> PendingDatasets { get; } = new(StringComparer.Ordinal);

        /// <summary>Duplicate paths registered in the current batch, stored at the next checkpoint.</summary>
        public List<(string Blob, string Alias)> NewDuplicates { get; } = [];

        public bool PendingDirty { get; set; }

        public int Listed { get; set; }

        public int Created { get; set; }

        public int AlreadyRegistered { get; set; }

        public int Changed { get; set; }

        public int Duplicates { get; set; }

        public int TagsAdded { get; set; }

        public int HumanBoxes { get; set; }

        public int ProblemCount { get; private set; }

        public void MarkPending(string dataset)
        {
            if (PendingDatasets.Add(dataset))
            {
                PendingDirty = true;
            }
        }

        public void Problem(string problem)
        {
            ProblemCount++;
            scanner.LogProblem(problem);
            if (_problems.Count < MaxProblems)
            {
                _problems.Add(problem);
            }
        }

        /// <summary>The normalised tag, or null (and a problem) when <paramref name="raw"/> is no valid tag name.</summary>
        public string? CheckTag(string raw, string where)
        {
            try
            {
                return TagName.Normalise(raw);
            }
            catch (ArgumentException e)
            {
                // A refused tag can be a megabyte long: the problem line shows its start.
                var shown = raw.Length > 100 ? raw[..100] + "…" : raw;
                Problem($"{where}: '{BlobName.Printable(shown)}' is not a usable tag ({(raw.Length > 100 ? $"{raw.Length} characters" : e.Message)})");
                return null;
            }
        }

        public async Task<long> GetDatasetIdAsync(string dataset, CancellationToken cancellationToken)
        {
            if (!_datasetIds.TryGetValue(dataset, out var id))
            {
                _datasetIds[dataset] = id = await scanner._store.EnsureDatasetAsync(dataset, cancellationToken);
            }

            return id;
        }

        /// <summary>
        /// Blob path → COCO image entry of the dataset's annotations.json, so new images are registered with their split
        /// and size. Errors in the file are reported when it is applied, not here.
        /// </summary>
        public async Task<Dictionary<string, CocoImage>> GetCocoImagesAsync(string dataset, CancellationToken cancellationToken)
        {
            var images = new Dictionary<string, CocoImage>(StringComparer.Ordinal);
            if (await ReadCocoAsync(dataset, revalidate: false, cancellationToken) is { Annotations: { } coco })
            {
                foreach (var image in coco.Images)
                {
                    var path = image.FileName.Trim().Normalize(NormalizationForm.FormC);
                    while (path.StartsWith("./", StringComparison.Ordinal))
                    {
                        path = path[2..];
                    }

                    images.TryAdd($"{Prefix}{dataset}/{path}", image);
                }
            }

            return images;
        }

        /// <summary>
        /// The dataset's annotations.json, parsed (streaming, through a stream that stops at
        /// <see cref="IngestOptions.MaxMetadataBytes"/>) at most once per scan: kept from registration until it is applied,
        /// and read again only when its ETag changed meanwhile (checked when <paramref name="revalidate"/>). Null when the dataset has none.
        /// </summary>
        public async Task<CocoRead?> ReadCocoAsync(string dataset, bool revalidate, CancellationToken cancellationToken)
        {
            // Registration asks once per batch: a parse from this scan serves it without asking the store again.
            if (!revalidate && _coco.TryGetValue(dataset, out var kept))
            {
                return kept;
            }

            var name = $"{Prefix}{dataset}/{AnnotationsFile}";
            var properties = await scanner._blobs.GetPropertiesAsync(name, cancellationToken);
            if (properties is null)
            {
                return null;
            }

            if (_coco.TryGetValue(dataset, out var cached) && cached.ETag == properties.ETag)
            {
                return cached;
            }

            var limit = scanner._options.MaxMetadataBytes;
            CocoRead read;
            if (properties.Size > limit)
            {
                read = new CocoRead(properties.ETag, null, $"skipped, {properties.Size} bytes is over the {limit}-byte limit (Ingest:MaxMetadataBytes)", Record: false);
            }
            else
            {
                try
                {
                    await using var stream = new LengthLimitedStream(await scanner._blobs.OpenReadAsync(name, cancellationToken), limit, name);
                    read = new CocoRead(properties.ETag, await CocoAnnotations.ReadAsync(stream, cancellationToken), null, Record: true);
                }
                catch (JsonException e)
                {
                    read = new CocoRead(properties.ETag, null, $"line {(e.LineNumber ?? 0) + 1}: not valid JSON at byte {(e.BytePositionInLine ?? 0) + 1} of the line, the file is skipped ({e.Message})", Record: true);
                }
                catch (FormatException e)
                {
                    read = new CocoRead(properties.ETag, null, $"{e.Message}; the file is skipped", Record: true);
                }
                catch (BlobTooLargeException)
                {
                    read = new CocoRead(properties.ETag, null, $"skipped, it grew past the {limit}-byte limit (Ingest:MaxMetadataBytes) while it was read", Record: true);
                }
                catch (BlobNotFoundException)
                {
                    read = new CocoRead(properties.ETag, null, "skipped, it was deleted while the scan ran", Record: false);
                }
            }

            _coco[dataset] = read;
            return read;
        }

        /// <summary>Drops the kept parse of a dataset's annotations.json once it is applied.</summary>
        public void ForgetCoco(string dataset) => _coco.Remove(dataset);

        /// <summary>
        /// The tags of <paramref name="candidates"/> that fit the caps: at most <see cref="IngestOptions.MaxTagsPerImage"/>
        /// per image (counting what it has in the store) and <see cref="IngestOptions.MaxNewClassesPerScan"/> new classes
        /// in this scan. A tag the image has already always fits. The others are counted per source and kind, with their
        /// places, and reported once at the end of the scan (<see cref="ReportRefusals"/>).
        /// </summary>
        public async Task<List<ImageTag>> AdmitTagsAsync(IReadOnlyList<(ImageTag Tag, string Source, string Place)> candidates, CancellationToken cancellationToken)
        {
            var current = (await scanner._store.GetTagsAsync(candidates.Select(c => c.Tag.ImageId).Distinct().ToList(), cancellationToken))
                .GroupBy(t => t.ImageId)
                .ToDictionary(g => g.Key, g => g.Select(t => t.ClassName).ToHashSet(StringComparer.Ordinal));
            var admitted = new List<ImageTag>(candidates.Count);
            foreach (var (tag, source, place) in candidates)
            {
                if (!current.TryGetValue(tag.ImageId, out var has))
                {
                    current[tag.ImageId] = has = new HashSet<string>(StringComparer.Ordinal);
                }

                if (has.Contains(tag.Tag))
                {
                    admitted.Add(tag);
                }
                else if (has.Count >= scanner._options.MaxTagsPerImage)
                {
                    Refuse(source, RefusalKind.TagsPerImage, place);
                }
                else if (await AdmitClassAsync(tag.Tag, source, place, cancellationToken))
                {
                    has.Add(tag.Tag);
                    admitted.Add(tag);
                }
            }

            return admitted;
        }

        /// <summary>True when <paramref name="tag"/> (normalised) names a known class, or a new one the scan may still create.</summary>
        public async Task<bool> AdmitClassAsync(string tag, string source, string place, CancellationToken cancellationToken)
        {
            _knownClasses ??= new HashSet<string>(await scanner._store.ListClassNamesAsync(cancellationToken), StringComparer.Ordinal);
            if (_knownClasses.Contains(tag))
            {
                return true;
            }

            if (_newClasses >= scanner._options.MaxNewClassesPerScan)
            {
                Refuse(source, RefusalKind.NewClasses, place);
                return false;
            }

            _newClasses++;
            _knownClasses.Add(tag);
            return true;
        }

        private void Refuse(string source, RefusalKind kind, string place)
        {
            if (!_refusals.TryGetValue((source, kind), out var refused))
            {
                _refusals[(source, kind)] = refused = new Refused();
            }

            refused.Count++;
            if (refused.Places.Count <= MaxRefusalPlaces && !refused.Places.Contains(place))
            {
                refused.Places.Add(place);
            }
        }

        /// <summary>One problem per source (file, or a dataset's folder tags) and kind of refusal: how many tags, and the first places.</summary>
        public void ReportRefusals()
        {
            foreach (var ((source, kind), refused) in _refusals.OrderBy(r => r.Key.Source, StringComparer.Ordinal).ThenBy(r => r.Key.Kind))
            {
                var limit = kind == RefusalKind.TagsPerImage
                    ? $"over the {scanner._options.MaxTagsPerImage} tags an image may have (Ingest:MaxTagsPerImage)"
                    : $"over the {scanner._options.MaxNewClassesPerScan} new classes a scan may create (Ingest:MaxNewClassesPerScan)";
                var places = string.Join(", ", refused.Places.Take(MaxRefusalPlaces)) + (refused.Places.Count > MaxRefusalPlaces ? ", …" : "");
                Problem($"{source}: {refused.Count} tags refused, {limit}: {places}");
            }

            _refusals.Clear();
        }

        public ScanReport ToReport(int messages)
        {
            var problems = _problems.ToList();
            if (ProblemCount > _problems.Count)
            {
                problems.Add($"… and {ProblemCount - _problems.Count} more problems (see the log)");
            }

            return new ScanReport(Listed, Created, AlreadyRegistered, Changed, Duplicates, TagsAdded, HumanBoxes, messages, problems);
        }
    }
}
