using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Failures;

/// <summary>
/// The one owner of the failure rules that the CLI (<c>failures</c>, <c>retry</c>, <c>deadletters</c>), the dashboard's
/// Failures page, its Hangfire jobs and the API all call (docs/failures.md):
/// <list type="bullet">
/// <item>failed images grouped by dataset and reason (<see cref="FailureReason"/>);</item>
/// <item>retry: failed images of a dataset and/or reason go back to pending (last error cleared, attempts kept) and
/// are sent through <see cref="InboxScanner.EnqueuePendingAsync(string?, CancellationToken)"/>;</item>
/// <item>the dead letters of every label queue (<see cref="IngestOptions.LabelQueuesByPriority"/>): count and last error;</item>
/// <item>replay: a dead letter's original body goes back to its queue and is deleted from the poison queue; the images
/// of the batch that its dead-lettering marked failed go back to queued first.</item>
/// </list>
/// </summary>
public sealed partial class FailureRecovery
{
    /// <summary>How long a dead letter being replayed is hidden from other replays.</summary>
    internal static readonly TimeSpan ReplayLease = TimeSpan.FromMinutes(2);

    private readonly ILabelStore _store;
    private readonly IWorkQueueFactory _queues;
    private readonly InboxScanner _scanner;
    private readonly IngestOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the service over the labels database, the queues and the one place that queues pending images.</summary>
    public FailureRecovery(ILabelStore store, IWorkQueueFactory queues, InboxScanner scanner, IOptions<IngestOptions> options, ILogger<FailureRecovery> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _queues = queues;
        _scanner = scanner;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The label queues whose dead letters are shown and replayed, highest priority first.</summary>
    public IReadOnlyList<string> LabelQueues => _options.LabelQueuesByPriority();

    /// <summary>Failed images grouped by dataset and reason (see <see cref="ILabelStore.GetFailureGroupsAsync"/>).</summary>
    public Task<IReadOnlyList<FailureGroup>> GetGroupsAsync(string? dataset, string? reason, int examplesPerGroup, CancellationToken cancellationToken) =>
        _store.GetFailureGroupsAsync(Blank(dataset), Blank(reason), examplesPerGroup, cancellationToken);

    /// <summary>A page of failed images (see <see cref="ILabelStore.GetFailedImagesAsync"/>).</summary>
    public Task<IReadOnlyList<FailedImage>> ListAsync(string? dataset, string? reason, long afterId, int limit, CancellationToken cancellationToken) =>
        _store.GetFailedImagesAsync(Blank(dataset), Blank(reason), afterId, limit, cancellationToken);

    /// <summary>
    /// Sends the failed images of <paramref name="dataset"/> and/or <paramref name="reason"/> (null: all) back to the
    /// workers: failed → pending (last error cleared, attempts kept), then the pending images of that dataset (all
    /// datasets when null) are queued. Running it again with nothing failed queues nothing new.
    /// </summary>
    public async Task<RetryResult> RetryAsync(string? dataset, string? reason, CancellationToken cancellationToken)
    {
        dataset = Blank(dataset);
        reason = Blank(reason);
        var reset = await _store.ResetFailedAsync(dataset, reason, cancellationToken);
        // A crash here leaves them pending: the next scan (or retry) queues them.
        var batches = reset == 0 ? 0 : await _scanner.EnqueuePendingAsync(dataset, cancellationToken);
        LogRetried(_logger, reset, dataset ?? "(all)", reason ?? "(all)", batches);
        return new RetryResult(dataset, reason, reset, batches);
    }

    /// <summary>
    /// The dead letters of each label queue: how many its poison queue holds, and the newest error among the first
    /// <paramref name="peek"/> (1–<see cref="QueueLimits.MaxReceiveCount"/>) messages, which are returned too.
    /// </summary>
    public async Task<IReadOnlyList<DeadLetterQueue>> GetDeadLettersAsync(int peek, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(peek, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(peek, QueueLimits.MaxReceiveCount);
        var result = new List<DeadLetterQueue>();
        foreach (var name in LabelQueues)
        {
            var queue = _queues.GetQueue(name);
            await queue.CreateIfNotExistsAsync(cancellationToken);
            var poison = _queues.GetQueue(queue.PoisonQueueName);
            var count = await poison.GetApproximateCountAsync(cancellationToken);
            var letters = count == 0 ? [] : (await poison.PeekAsync(peek, cancellationToken)).Select(ToDeadLetter).ToList();
            var last = letters.Where(l => l.FailedAt is not null).MaxBy(l => l.FailedAt);
            result.Add(new DeadLetterQueue(name, queue.PoisonQueueName, count, last?.Error, last?.FailedAt, letters));
        }

        return result;
    }

    /// <summary>
    /// Replays up to <paramref name="maxMessages"/> dead letters of <paramref name="queue"/> (a label queue; null: each of
    /// them): for each, the images of its batch that are failed with the error it was dead-lettered with go back to
    /// queued, its original body is sent to the label queue, and it is deleted from the poison queue, in that order (a
    /// crash in between leaves the dead letter to replay again; workers are idempotent). A poison message that is not
    /// a <see cref="PoisonMessage"/> is left where it is and counted as skipped.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="queue"/> is not one of <see cref="LabelQueues"/>.</exception>
    public async Task<ReplayResult> ReplayAsync(string? queue, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        queue = Blank(queue);
        if (queue is not null && !LabelQueues.Contains(queue, StringComparer.Ordinal))
        {
            throw new ArgumentException($"'{queue}' is not a label queue; the label queues are {string.Join(", ", LabelQueues)}.", nameof(queue));
        }

        int replayed = 0, images = 0, skipped = 0;
        foreach (var name in queue is null ? LabelQueues : [queue])
        {
            var target = _queues.GetQueue(name);
            await target.CreateIfNotExistsAsync(cancellationToken);
            var poison = _queues.GetQueue(target.PoisonQueueName);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (replayed + skipped < maxMessages)
            {
                var received = await poison.ReceiveAsync(Math.Min(QueueLimits.MaxReceiveCount, maxMessages - replayed - skipped), ReplayLease, cancellationToken);
                if (received.Count(m => seen.Add(m.MessageId)) == 0)
                {
                    break;
                }

                foreach (var message in received)
                {
                    PoisonMessage letter;
                    try
                    {
                        letter = PoisonMessage.Parse(message.Body);
                    }
                    catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
                    {
                        LogSkipped(_logger, message.MessageId, poison.Name, e.Message);
                        skipped++;
                        continue;
                    }

                    var requeued = await RequeueFailedByAsync(letter, cancellationToken);
                    await target.SendAsync(letter.Body, null, cancellationToken);
                    await poison.DeleteAsync(message, cancellationToken);
                    LogReplayed(_logger, letter.MessageId, poison.Name, name, requeued);
                    replayed++;
                    images += requeued;
                }
            }
        }

        return new ReplayResult(queue, replayed, images, skipped);
    }

    // The images the dead-lettering marked failed carry its error (LabelBatchHandler: "Failed on delivery n of m: {error}"
    // for the letter, {error} for the images); images that failed on their own (missing-blob, …) keep their failure.
    private async Task<int> RequeueFailedByAsync(PoisonMessage letter, CancellationToken cancellationToken)
    {
        LabelMessage batch;
        try
        {
            batch = LabelMessage.Parse(letter.Body);
        }
        catch (MalformedMessageException)
        {
            return 0; // it dead-letters again; nothing of ours to put back
        }

        var images = await _store.GetImagesAsync(batch.ImageIds, cancellationToken);
        var ids = images
            .Where(i => i.Status == ImageStatus.Failed && !string.IsNullOrEmpty(i.LastError) && letter.Error.EndsWith(i.LastError, StringComparison.Ordinal))
            .Select(i => i.Id)
            .ToList();
        if (ids.Count > 0)
        {
            await _store.SetStatusAsync(ids, ImageStatus.Queued, null, cancellationToken);
        }

        return ids.Count;
    }

    private static DeadLetter ToDeadLetter(PeekedMessage message)
    {
        try
        {
            var letter = PoisonMessage.Parse(message.Body);
            int? images = null;
            try
            {
                images = LabelMessage.Parse(letter.Body).ImageIds.Count;
            }
            catch (MalformedMessageException)
            {
            }

            return new DeadLetter(message.MessageId, letter.MessageId, letter.Error, letter.FailedAt, letter.DequeueCount, images);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            return new DeadLetter(message.MessageId, null, $"Not a poison message: {e.Message}", null, message.DequeueCount, null);
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "Retry: {Images} failed image(s) of dataset {Dataset}, reason {Reason} back to pending; {Batches} batch(es) queued.")]
    private static partial void LogRetried(ILogger logger, int images, string dataset, string reason, int batches);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Replayed dead letter {MessageId} from {PoisonQueue} to {Queue}; {Images} image(s) back to queued.")]
    private static partial void LogReplayed(ILogger logger, string messageId, string poisonQueue, string queue, int images);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Left message {MessageId} in {PoisonQueue}: it is not a poison message ({Problem}).")]
    private static partial void LogSkipped(ILogger logger, string messageId, string poisonQueue, string problem);
}

/// <summary>What a retry did.</summary>
/// <param name="Dataset">The dataset retried, or null for all.</param>
/// <param name="Reason">The reason retried, or null for all.</param>
/// <param name="Images">Failed images set back to pending.</param>
/// <param name="Batches">Label messages queued (pending images of the dataset, these included).</param>
public sealed record RetryResult(string? Dataset, string? Reason, int Images, int Batches);

/// <summary>What a replay did.</summary>
/// <param name="Queue">The label queue replayed, or null for all.</param>
/// <param name="Messages">Dead letters sent back to their queue.</param>
/// <param name="Images">Images their dead-lettering had marked failed, back to queued.</param>
/// <param name="Skipped">Poison messages left in place (not a poison message).</param>
public sealed record ReplayResult(string? Queue, int Messages, int Images, int Skipped);

/// <summary>The dead letters of one label queue.</summary>
/// <param name="Queue">The label queue.</param>
/// <param name="PoisonQueue">Its poison queue.</param>
/// <param name="Count">Messages in the poison queue (approximate on Azure).</param>
/// <param name="LastError">The newest error among the peeked messages, or null.</param>
/// <param name="LastFailedAt">When that message was dead-lettered.</param>
/// <param name="Messages">The first few poison messages.</param>
public sealed record DeadLetterQueue(string Queue, string PoisonQueue, int Count, string? LastError, DateTimeOffset? LastFailedAt, IReadOnlyList<DeadLetter> Messages);

/// <summary>One poison message as shown.</summary>
/// <param name="PoisonMessageId">Its id in the poison queue.</param>
/// <param name="OriginalMessageId">The id it had in the label queue (null when unreadable).</param>
/// <param name="Error">Why it was given up on.</param>
/// <param name="FailedAt">When.</param>
/// <param name="DequeueCount">How often the original was received.</param>
/// <param name="Images">How many image ids its batch holds (null when the body is not a label message).</param>
public sealed record DeadLetter(string PoisonMessageId, string? OriginalMessageId, string Error, DateTimeOffset? FailedAt, long DequeueCount, int? Images);
