using System.Collections.Concurrent;
using System.Threading.Channels;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Imaging;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using ClassVocabulary = Labeling.Vocabulary.Vocabulary;

namespace Labeling.Functions.Batches;

/// <summary>What became of a label message.</summary>
public enum LabelBatchOutcome
{
    /// <summary>Every known image was labelled or marked failed; the message was deleted.</summary>
    Completed,

    /// <summary>The message can never succeed (malformed, no known image, or failed on its last allowed delivery); it is in the poison queue.</summary>
    DeadLettered,

    /// <summary>The batch failed; the message was made visible again after a back-off delay and will be retried.</summary>
    Released,

    /// <summary>The lease on the message was lost while the batch ran; the work was cancelled and the message will be delivered again.</summary>
    LeaseLost,

    /// <summary>
    /// The batch waits on a state of the system or of its dataset (no usable model, an outage, a paused dataset, its
    /// dataset's batch cap): the message was put back without using up a delivery (<c>RequeueAsync</c>) and no image failed.
    /// </summary>
    Deferred,

    /// <summary>The message's work was withdrawn (its dataset's queued work was cancelled or moved): it was deleted unprocessed.</summary>
    Dropped,
}

/// <summary>
/// Labels the images of one label-queue message (architecture: "The loop"): downloads, decodes and
/// detects in overlapping stages, applies the <see cref="TagPolicy"/> and writes the boxes of the
/// active model, while extending the message's lease. Images that can never succeed are marked failed
/// at once; transient storage errors are retried. A failure that is a state of the system (no usable model, storage
/// that still does not answer: <see cref="LabelReadiness.IsSystemState"/>) puts the message back without using up a
/// delivery and closes the workers' gate: no image fails for it. Any other failure releases the message, and on its last
/// allowed delivery marks the remaining images failed and dead-letters it.
/// </summary>
public sealed partial class LabelBatchHandler
{
    private static readonly TimeSpan ReleaseOnShutdownTimeout = TimeSpan.FromSeconds(10);
    private readonly ILabelStore _store;
    private readonly IBlobStore _blobs;
    private readonly IActiveDetector _detectors;
    private readonly LabelBatchOptions _options;
    private readonly WorkQueueOptions _queueOptions;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TagPolicy _policy;
    private readonly ResiliencePipeline _retry;
    private readonly LabelReadiness? _readiness;
    private IReadOnlyDictionary<string, long>? _discoveryClassIds;
    private readonly DatasetAdmission? _admission;
    private readonly Ingest.IngestOptions _ingest;

    /// <summary>
    /// Creates the handler; the options are validated. Without <paramref name="admission"/> no dataset control applies (every
    /// batch proceeds); <paramref name="ingest"/> gives the image size limit (<see cref="Ingest.IngestOptions.MaxImageBytes"/>, its default when null).
    /// </summary>
    public LabelBatchHandler(
        ILabelStore store,
        IBlobStore blobs,
        IActiveDetector detectors,
        IOptions<LabelBatchOptions> options,
        IOptions<WorkQueueOptions> queueOptions,
        ILogger<LabelBatchHandler> logger,
        TimeProvider? timeProvider = null,
        LabelReadiness? readiness = null,
        DatasetAdmission? admission = null,
        IOptions<Ingest.IngestOptions>? ingest = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(detectors);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(queueOptions);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _blobs = blobs;
        _detectors = detectors;
        _options = options.Value;
        _options.Validate();
        _queueOptions = queueOptions.Value;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _policy = new TagPolicy(_options.TagPolicy);
        _retry = BuildRetry(_options, _logger, _time);
        _readiness = readiness;
        _admission = admission;
        _ingest = ingest?.Value ?? new Ingest.IngestOptions();
        _ingest.Validate();
    }

    /// <summary>
    /// Handles one received message of the label queue (see <see cref="LabelBatchOutcome"/>). Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled,
    /// after making the message visible again.
    /// </summary>
    public async Task<LabelBatchOutcome> HandleAsync(QueueMessage message, IWorkQueue queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(queue);
        LabelMessage parsed;
        try
        {
            parsed = LabelMessage.Parse(message.Body);
        }
        catch (MalformedMessageException e)
        {
            Log.Malformed(_logger, message.MessageId, queue.Name, e.Message);
            return await DeadLetterAsync(queue, message, $"Malformed message: {e.Message}", cancellationToken);
        }

        // Dataset control, between batches (DatasetAdmission): paused or at its cap waits, withdrawn work is dropped.
        Admission admission;
        try
        {
            admission = _admission is null ? Admission.ProceedFreely : await _admission.AdmitAsync(parsed, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException && LabelReadiness.IsSystemState(e))
        {
            return await DeferAsync(queue, message, parsed, e, cancellationToken);
        }

        try
        {
            switch (admission.Decision)
            {
                case AdmissionDecision.Defer:
                    await queue.RequeueAsync(message, admission.Delay, cancellationToken);
                    return LabelBatchOutcome.Deferred;
                case AdmissionDecision.Drop:
                    await queue.DeleteAsync(message, cancellationToken);
                    return LabelBatchOutcome.Dropped;
            }
        }
        catch (QueueLeaseLostException)
        {
            Log.Abandoned(_logger, parsed.Batch, message.MessageId);
            return LabelBatchOutcome.LeaseLost;
        }

        await using var batchLease = admission.Lease;
        var lease = LeaseKeeper.Start(queue, message, _options.VisibilityTimeout, _logger, _time, cancellationToken);
        await using (lease)
        {
            var finished = new ConcurrentDictionary<long, bool>();
            Exception failure;
            try
            {
                var result = await RunAsync(parsed, finished, lease.Token);
                var current = await lease.StopAsync();
                if (result.Known == 0)
                {
                    var error = $"None of the message's {parsed.ImageIds.Count} image ids exist (first: {parsed.ImageIds[0]}).";
                    Log.NoKnownImages(_logger, message.MessageId, parsed.Batch, parsed.ImageIds.Count);
                    return await DeadLetterAsync(queue, current, error, cancellationToken);
                }

                await _retry.ExecuteAsync(async t => await queue.DeleteAsync(current, t), cancellationToken);
                Log.Completed(_logger, parsed.Batch, message.MessageId, result.Labelled, result.Failed, result.ModelVersion, lease.Renewals);
                return LabelBatchOutcome.Completed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                var current = await lease.StopAsync();
                if (!lease.Lost)
                {
                    await ReleaseOnShutdownAsync(queue, current);
                }

                throw;
            }
            catch (Exception e) when (lease.Lost || e is QueueLeaseLostException)
            {
                Log.Abandoned(_logger, parsed.Batch, message.MessageId);
                return LabelBatchOutcome.LeaseLost;
            }
            catch (Exception e)
            {
                failure = e;
            }

            var latest = await lease.StopAsync();
            return await FailAsync(queue, latest, message.DequeueCount, parsed, finished, failure, cancellationToken);
        }
    }

    private async Task<LabelBatchOutcome> FailAsync(
        IWorkQueue queue, QueueMessage current, long dequeueCount, LabelMessage parsed, ConcurrentDictionary<long, bool> finished, Exception failure, CancellationToken cancellationToken)
    {
        var error = $"{failure.GetType().Name}: {failure.Message}";
        try
        {
            if (LabelReadiness.IsSystemState(failure))
            {
                return await DeferAsync(queue, current, parsed, failure, cancellationToken);
            }

            if (dequeueCount >= _queueOptions.MaxDequeueCount)
            {
                Log.GivingUp(_logger, parsed.Batch, current.MessageId, dequeueCount, failure);
                await MarkUnfinishedFailedAsync(parsed.ImageIds, finished, error, cancellationToken);
                return await DeadLetterAsync(queue, current, $"Failed on delivery {dequeueCount} of {_queueOptions.MaxDequeueCount}: {error}", cancellationToken);
            }

            var delay = ReleaseDelay(dequeueCount);
            Log.Releasing(_logger, parsed.Batch, current.MessageId, dequeueCount, delay, failure);
            await _retry.ExecuteAsync(async t => await queue.UpdateVisibilityAsync(current, delay, t), cancellationToken);
            return LabelBatchOutcome.Released;
        }
        catch (QueueLeaseLostException)
        {
            Log.Abandoned(_logger, parsed.Batch, current.MessageId);
            return LabelBatchOutcome.LeaseLost;
        }
    }

    // Not the batch's fault: the message goes back as it was (its delivery count starts again) and the gate closes, so
    // this worker takes nothing more until the state clears. Its images stay queued.
    private async Task<LabelBatchOutcome> DeferAsync(IWorkQueue queue, QueueMessage current, LabelMessage parsed, Exception failure, CancellationToken cancellationToken)
    {
        _readiness?.Report(failure);
        var delay = _readiness?.RecheckDelay ?? _options.ReleaseBaseDelay;
        try
        {
            await queue.RequeueAsync(current, delay, cancellationToken);
        }
        catch (Exception e) when (e is not (OperationCanceledException or QueueLeaseLostException))
        {
            // The queue is away too: the message comes back when its lease ends (that costs it a delivery).
            Log.DeferFailed(_logger, parsed.Batch, current.MessageId, e.Message);
            return LabelBatchOutcome.Released;
        }

        Log.Deferred(_logger, parsed.Batch, current.MessageId, delay, failure.Message);
        return LabelBatchOutcome.Deferred;
    }

    private async Task<LabelBatchOutcome> DeadLetterAsync(IWorkQueue queue, QueueMessage message, string error, CancellationToken cancellationToken)
    {
        await _retry.ExecuteAsync(async t => await queue.DeadLetterAsync(message, error, t), cancellationToken);
        Log.DeadLettered(_logger, message.MessageId, queue.PoisonQueueName, error);
        return LabelBatchOutcome.DeadLettered;
    }

    private TimeSpan ReleaseDelay(long dequeueCount)
    {
        var exponent = (int)Math.Clamp(dequeueCount - 1, 0, 20);
        var delay = _options.ReleaseBaseDelay * Math.Pow(2, exponent);
        return delay < _options.VisibilityTimeout ? delay : _options.VisibilityTimeout;
    }

    // Shutting down: hand the message back at once instead of leaving it hidden until its lease runs out.
    private async Task ReleaseOnShutdownAsync(IWorkQueue queue, QueueMessage current)
    {
        using var timeout = new CancellationTokenSource(ReleaseOnShutdownTimeout);
        try
        {
            await queue.UpdateVisibilityAsync(current, TimeSpan.Zero, timeout.Token);
            Log.ReleasedOnShutdown(_logger, current.MessageId);
        }
        catch (Exception e) when (e is QueueLeaseLostException or OperationCanceledException || TransientErrors.IsTransient(e))
        {
            Log.ReleaseOnShutdownFailed(_logger, current.MessageId, e);
        }
    }

    // The last delivery failed: no image of the batch may stay queued for ever.
    private async Task MarkUnfinishedFailedAsync(IReadOnlyList<long> imageIds, ConcurrentDictionary<long, bool> finished, string error, CancellationToken cancellationToken)
    {
        try
        {
            var images = await _retry.ExecuteAsync(async t => await _store.GetImagesAsync(imageIds, t), cancellationToken);
            var unfinished = images
                .Where(i => !finished.ContainsKey(i.Id) && i.Status is not (ImageStatus.Labelled or ImageStatus.Failed))
                .Select(i => i.Id)
                .ToList();
            if (unfinished.Count > 0)
            {
                await _retry.ExecuteAsync(async t => await _store.SetStatusAsync(unfinished, ImageStatus.Failed, error, t), cancellationToken);
                Log.MarkedFailed(_logger, unfinished.Count, error);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The message still goes to the poison queue with its image ids: the poison handler can mark them later.
            Log.MarkFailedFailed(_logger, imageIds.Count, e);
        }
    }

    private sealed record RunResult(int Known, int Labelled, int Failed, string? ModelVersion);

    private async Task<RunResult> RunAsync(LabelMessage message, ConcurrentDictionary<long, bool> finished, CancellationToken cancellationToken)
    {
        var images = await _retry.ExecuteAsync(async t => await _store.GetImagesAsync(message.ImageIds, t), cancellationToken);
        if (images.Count == 0)
        {
            return new RunResult(0, 0, 0, null);
        }

        if (images.Count < message.ImageIds.Count)
        {
            var known = images.Select(i => i.Id).ToHashSet();
            var unknown = message.ImageIds.Where(id => !known.Contains(id)).ToList();
            Log.UnknownImages(_logger, message.Batch, unknown.Count, string.Join(", ", unknown.Take(20)));
        }

        var ids = images.Select(i => i.Id).ToList();
        var tags = await _retry.ExecuteAsync(async t => await _store.GetTagsAsync(ids, t), cancellationToken);
        var tagsByImage = tags.GroupBy(t => t.ImageId).ToDictionary(g => g.Key, g => (IReadOnlyList<ImageTagRecord>)g.ToList());
        var discovery = await DiscoveryClassIdsAsync(cancellationToken);
        using var model = await _retry.ExecuteAsync(async t => await _detectors.AcquireAsync(t), cancellationToken);

        // One vocabulary per message: the union of its images' tags, then the discovery classes.
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in tags.Select(t => t.ClassName).Concat(discovery.Keys))
        {
            if (seen.Add(name))
            {
                names.Add(name);
            }
        }

        var encoder = model.Encoder ?? throw new ActiveModelException($"Model {model.Model.Version} has no text encoder.");
        var vocabulary = ClassVocabulary.Create(encoder, names);
        var plan = new Plan(model, vocabulary, vocabulary.Names, tagsByImage, discovery);
        var counts = await PipelineAsync(images, plan, finished, cancellationToken);
        return new RunResult(images.Count, counts.Labelled, counts.Failed, model.Model.Version);
    }

    private async Task<IReadOnlyDictionary<string, long>> DiscoveryClassIdsAsync(CancellationToken cancellationToken)
    {
        if (!_policy.DiscoveryEnabled)
        {
            return new Dictionary<string, long>();
        }

        if (_discoveryClassIds is { } cached)
        {
            return cached;
        }

        var ids = await _retry.ExecuteAsync(async t => await _store.EnsureClassesAsync(_options.TagPolicy.DiscoveryVocabulary, t), cancellationToken);
        _discoveryClassIds = ids;
        return ids;
    }

    private sealed record Plan(
        ActiveModelLease Model,
        ClassVocabulary Vocabulary,
        IReadOnlyList<string> Names,
        Dictionary<long, IReadOnlyList<ImageTagRecord>> TagsByImage,
        IReadOnlyDictionary<string, long> Discovery)
    {
        public IReadOnlyList<ImageTagRecord> TagsOf(long imageId) => TagsByImage.TryGetValue(imageId, out var tags) ? tags : [];
    }

    private sealed class Counts
    {
        public int Labelled;
        public int Failed;
    }

    // download ─► decode ─► detect (model batches) ─► write, joined by bounded channels so the stages
    // overlap: while the detector runs one batch the next is downloading and decoding.
    private async Task<Counts> PipelineAsync(IReadOnlyList<ImageRecord> images, Plan plan, ConcurrentDictionary<long, bool> finished, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var batchSize = _options.ModelBatchSize;
        var downloaded = Channel.CreateBounded<(ImageRecord Image, byte[] Bytes)>(Math.Max(batchSize, _options.DownloadParallelism));
        var decoded = Channel.CreateBounded<(ImageRecord Image, DecodedImage Pixels)>(2 * batchSize);
        var labelled = Channel.CreateBounded<IReadOnlyList<ImageLabels>>(2);
        var counts = new Counts();
        var info = plan.Model.Detector.Info;
        var decodeOptions = new ImageDecodeOptions { MaxPixels = _options.MaxPixels, TargetLongSide = Math.Max(info.InputWidth, info.InputHeight) };

        async Task MarkFailedAsync(ImageRecord image, string code, string detail, CancellationToken t)
        {
            var reason = $"{code}: {detail}";
            await _retry.ExecuteAsync(async t2 => await _store.SetStatusAsync([image.Id], ImageStatus.Failed, reason, t2), t);
            finished[image.Id] = true;
            Interlocked.Increment(ref counts.Failed);
            Log.ImageFailed(_logger, image.Id, image.BlobPath, reason);
        }

        var download = Stage(e => downloaded.Writer.TryComplete(e), async t =>
            await Parallel.ForEachAsync(images, new ParallelOptions { MaxDegreeOfParallelism = _options.DownloadParallelism, CancellationToken = t }, async (image, t2) =>
            {
                byte[] bytes;
                try
                {
                    bytes = await _retry.ExecuteAsync(async t3 => await ReadAllAsync(image.BlobPath, t3), t2);
                }
                catch (BlobNotFoundException e)
                {
                    await MarkFailedAsync(image, "missing-blob", e.Message, t2);
                    return;
                }
                catch (InvalidBlobNameException e)
                {
                    await MarkFailedAsync(image, "invalid-blob-name", e.Message, t2);
                    return;
                }
                catch (BlobTooLargeException e)
                {
                    var reason = _ingest.TooLargeReason(e.Size);
                    await MarkFailedAsync(image, "too-large", reason["too-large: ".Length..], t2);
                    return;
                }

                await downloaded.Writer.WriteAsync((image, bytes), t2);
            }));

        var decode = Stage(e => decoded.Writer.TryComplete(e), async t =>
            await Parallel.ForEachAsync(downloaded.Reader.ReadAllAsync(t), new ParallelOptions { MaxDegreeOfParallelism = _options.DecodeParallelism, CancellationToken = t }, async (item, t2) =>
            {
                var result = ImageDecoder.Decode(item.Bytes, decodeOptions);
                if (!result.Success)
                {
                    await MarkFailedAsync(item.Image, result.Failure.Value.ToCode(), result.Message, t2);
                    return;
                }

                await decoded.Writer.WriteAsync((item.Image, result.Image), t2);
            }));

        var detect = Stage(e => labelled.Writer.TryComplete(e), async t =>
        {
            var batch = new List<(ImageRecord Image, DecodedImage Pixels)>(batchSize);
            await foreach (var item in decoded.Reader.ReadAllAsync(t))
            {
                batch.Add(item);
                if (batch.Count == batchSize)
                {
                    await labelled.Writer.WriteAsync(Detect(batch, plan, t), t);
                    batch = new(batchSize);
                }
            }

            if (batch.Count > 0)
            {
                await labelled.Writer.WriteAsync(Detect(batch, plan, t), t);
            }
        });

        var write = Stage(null, async t =>
        {
            await foreach (var labels in labelled.Reader.ReadAllAsync(t))
            {
                await _retry.ExecuteAsync(async t2 => await _store.WriteLabelsAsync(plan.Model.Model.Id, labels, t2), t);
                foreach (var image in labels)
                {
                    finished[image.ImageId] = true;
                }

                Interlocked.Add(ref counts.Labelled, labels.Count);
                Log.Written(_logger, labels.Count, labels.Sum(l => l.Boxes.Count), plan.Model.Model.Version);
            }
        });

        Task[] stages = [download, decode, detect, write];
        try
        {
            await Task.WhenAll(stages);
        }
        catch
        {
            // A failing stage fails the stages after it with the same error and cancels the ones before
            // it: the first real error in stage order is the cause.
            var cause = stages.Where(s => s.IsFaulted).SelectMany(s => s.Exception!.InnerExceptions).FirstOrDefault(e => e is not OperationCanceledException);
            if (cause is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            }

            throw;
        }

        return counts;

        Task Stage(Func<Exception?, bool>? complete, Func<CancellationToken, Task> body) => Task.Run(async () =>
        {
            try
            {
                await body(stop.Token);
                complete?.Invoke(null);
            }
            catch (Exception e)
            {
                complete?.Invoke(e);
                await stop.CancelAsync();
                throw;
            }
        }, CancellationToken.None);
    }

    private List<ImageLabels> Detect(List<(ImageRecord Image, DecodedImage Pixels)> batch, Plan plan, CancellationToken cancellationToken)
    {
        var tags = batch.Select(b => plan.TagsOf(b.Image.Id)).ToList();
        var request = _policy.CreateRequest(plan.Names, tags, plan.Discovery, plan.Vocabulary);
        var results = plan.Model.Detector.Detect(batch.Select(b => b.Pixels).ToList(), request, cancellationToken);
        var labels = new List<ImageLabels>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            // The decoded size (EXIF orientation applied, like the boxes) goes with the labels, so
            // the review page and the exports can place boxes without opening the image again.
            labels.Add(_policy.Apply(batch[i].Image.Id, tags[i], results[i], plan.Names, plan.Discovery)
                with { Width = batch[i].Pixels.OriginalWidth, Height = batch[i].Pixels.OriginalHeight });
        }

        return labels;
    }

    // The whole image is held in memory (the decoder wants it), so its size is checked before the read (the stream's
    // length is the blob's size) and the read goes through a stream that stops one byte past the limit: a blob that
    // grew since, or whose stream cannot tell its length, still never costs more than the limit.
    private async Task<byte[]> ReadAllAsync(string blobName, CancellationToken cancellationToken)
    {
        var limit = _ingest.MaxImageBytes;
        var stream = await _blobs.OpenReadAsync(blobName, cancellationToken);
        await using var limited = new LengthLimitedStream(stream, limit, blobName);
        var known = stream.CanSeek ? stream.Length : (long?)null;
        if (known > limit)
        {
            throw new BlobTooLargeException(limit, blobName, known);
        }

        using var buffer = known is { } length ? new MemoryStream((int)length) : new MemoryStream();
        await limited.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private static ResiliencePipeline BuildRetry(LabelBatchOptions options, ILogger logger, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(TransientErrors.IsTransient),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                OnRetry = args =>
                {
                    Log.Retrying(logger, args.AttemptNumber + 1, options.MaxRetryAttempts, args.RetryDelay, args.Outcome.Exception);
                    return default;
                },
            });
        }

        return builder.Build();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} of queue '{Queue}' is malformed and goes to the poison queue: {Reason}")]
        public static partial void Malformed(ILogger logger, string messageId, string queue, string reason);

        [LoggerMessage(Level = LogLevel.Error, Message = "Batch {Batch} (message {MessageId}): none of its {Count} image ids exist; dead-lettering it.")]
        public static partial void NoKnownImages(ILogger logger, string messageId, Guid batch, int count);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Batch}: {Count} image ids do not exist and are skipped: {Ids}")]
        public static partial void UnknownImages(ILogger logger, Guid batch, int count, string ids);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Image {ImageId} ('{BlobPath}') failed: {Reason}")]
        public static partial void ImageFailed(ILogger logger, long imageId, string blobPath, string reason);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Wrote labels of {Images} images ({Boxes} boxes) by model {Model}.")]
        public static partial void Written(ILogger logger, int images, int boxes, string model);

        [LoggerMessage(Level = LogLevel.Information, Message = "Batch {Batch} (message {MessageId}) done: {Labelled} labelled, {Failed} failed, model {Model}, lease extended {Renewals} times.")]
        public static partial void Completed(ILogger logger, Guid batch, string messageId, int labelled, int failed, string? model, int renewals);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Transient failure; retry {Attempt} of {Max} in {Delay}.")]
        public static partial void Retrying(ILogger logger, int attempt, int max, TimeSpan delay, Exception? exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Batch} (message {MessageId}) failed on delivery {DequeueCount}; releasing it for {Delay}.")]
        public static partial void Releasing(ILogger logger, Guid batch, string messageId, long dequeueCount, TimeSpan delay, Exception exception);

        [LoggerMessage(Level = LogLevel.Error, Message = "Batch {Batch} (message {MessageId}) failed on its last allowed delivery ({DequeueCount}); marking its unfinished images failed and dead-lettering it.")]
        public static partial void GivingUp(ILogger logger, Guid batch, string messageId, long dequeueCount, Exception exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Marked {Count} unfinished images failed: {Error}")]
        public static partial void MarkedFailed(ILogger logger, int count, string error);

        [LoggerMessage(Level = LogLevel.Error, Message = "Could not mark the {Count} images of a dead-lettered batch failed; the poison message keeps their ids.")]
        public static partial void MarkFailedFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} moved to '{PoisonQueue}': {Error}")]
        public static partial void DeadLettered(ILogger logger, string messageId, string poisonQueue, string error);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Batch} (message {MessageId}) abandoned: the lease on the message was lost; it will be delivered again.")]
        public static partial void Abandoned(ILogger logger, Guid batch, string messageId);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Batch {Batch} (message {MessageId}) waits on the state of the system and is back on the queue in {Delay}, no delivery used: {Reason}")]
        public static partial void Deferred(ILogger logger, Guid batch, string messageId, TimeSpan delay, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Batch} (message {MessageId}) waits on the state of the system but could not be put back ({Reason}); it comes back when its lease ends.")]
        public static partial void DeferFailed(ILogger logger, Guid batch, string messageId, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: released message {MessageId}.")]
        public static partial void ReleasedOnShutdown(ILogger logger, string messageId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Shutting down: could not release message {MessageId}; it comes back when its lease expires.")]
        public static partial void ReleaseOnShutdownFailed(ILogger logger, string messageId, Exception exception);
    }
}
