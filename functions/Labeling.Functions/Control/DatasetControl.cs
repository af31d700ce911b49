using Labeling.Functions.Ingest;
using Labeling.Labels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Control;

/// <summary>What a control action did: the dataset's settings after it, and a sentence for people.</summary>
/// <param name="Dataset">The settings after the action.</param>
/// <param name="Summary">What changed, as the job result, the API and the CLI say it.</param>
public sealed record DatasetControlResult(DatasetControlRecord Dataset, string Summary);

/// <summary>
/// The one owner of the job-control rules per dataset (docs/workers.md, "Dataset control"), called by the Hangfire jobs,
/// the API, the CLI and the dashboard page alike. Pause: the dataset is paused (batches in flight finish; its queued
/// messages wait; the scan queues none of its images). Resume: active again, and its pending images are queued. Cancel:
/// its queued work is withdrawn (generation bumped, so workers drop its old messages; queued images back to pending,
/// never failed) and it is paused. Priority: set, its queued work withdrawn and its pending images queued again on the
/// new priority's queue (unless it is paused). Cap: at most N of its batches run at once, or no cap. Every action returns
/// null for a dataset that does not exist.
/// </summary>
public sealed partial class DatasetControl
{
    private readonly ILabelStore _store;
    private readonly InboxScanner _scanner;
    private readonly DatasetControlOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the control; the options are validated.</summary>
    public DatasetControl(ILabelStore store, InboxScanner scanner, IOptions<DatasetControlOptions> options, ILogger<DatasetControl>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentNullException.ThrowIfNull(options);
        options.Value.Validate();
        _store = store;
        _scanner = scanner;
        _options = options.Value;
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>The window rates are measured over.</summary>
    public TimeSpan RateWindow => _options.RateWindow;

    /// <summary>Every dataset's settings, counts, running batches, rate and ETA.</summary>
    public Task<IReadOnlyList<DatasetActivity>> ListAsync(CancellationToken cancellationToken) =>
        _store.GetDatasetActivityAsync(_options.RateWindow, cancellationToken);

    /// <summary>Pauses the dataset (idempotent).</summary>
    public async Task<DatasetControlResult?> PauseAsync(string dataset, CancellationToken cancellationToken)
    {
        var before = await _store.GetDatasetControlAsync(dataset, cancellationToken);
        if (before is null)
        {
            return null;
        }

        var after = await _store.SetDatasetStateAsync(dataset, DatasetState.Paused, cancellationToken);
        return after is null ? null : Logged(new DatasetControlResult(after, before.State == DatasetState.Paused
            ? $"{dataset} was paused already: nothing changed."
            : $"{dataset} paused: batches in flight finish, its queued batches wait until it is resumed."));
    }

    /// <summary>Makes the dataset active and queues its pending images (idempotent: a second resume queues what is pending then).</summary>
    public async Task<DatasetControlResult?> ResumeAsync(string dataset, CancellationToken cancellationToken)
    {
        var after = await _store.SetDatasetStateAsync(dataset, DatasetState.Active, cancellationToken);
        if (after is null)
        {
            return null;
        }

        var batches = await _scanner.EnqueuePendingAsync(dataset, cancellationToken);
        return Logged(new DatasetControlResult(after, $"{dataset} resumed: {batches} batch(es) of its pending images queued ({after.Priority.ToText()} priority)."));
    }

    /// <summary>Withdraws the dataset's queued work (its queued images go back to pending, never failed) and pauses it.</summary>
    public async Task<DatasetControlResult?> CancelAsync(string dataset, CancellationToken cancellationToken)
    {
        var withdrawal = await _store.WithdrawQueuedAsync(dataset, DatasetState.Paused, null, cancellationToken);
        return withdrawal is null ? null : Logged(new DatasetControlResult(withdrawal.Dataset,
            $"{dataset} cancelled: {withdrawal.ImagesReturned} queued image(s) back to pending, its queued batches are dropped by the workers; it stays paused until resumed."));
    }

    /// <summary>Sets the dataset's priority; its queued work moves to the new priority's queue (withdrawn and queued again). The same priority changes nothing.</summary>
    public async Task<DatasetControlResult?> SetPriorityAsync(string dataset, DatasetPriority priority, CancellationToken cancellationToken)
    {
        var before = await _store.GetDatasetControlAsync(dataset, cancellationToken);
        if (before is null)
        {
            return null;
        }

        if (before.Priority == priority)
        {
            return Logged(new DatasetControlResult(before, $"{dataset} has {priority.ToText()} priority already: nothing changed."));
        }

        var withdrawal = await _store.WithdrawQueuedAsync(dataset, null, priority, cancellationToken);
        if (withdrawal is null)
        {
            return null;
        }

        if (withdrawal.Dataset.State == DatasetState.Paused)
        {
            return Logged(new DatasetControlResult(withdrawal.Dataset,
                $"{dataset} now has {priority.ToText()} priority; it is paused: its {withdrawal.ImagesReturned} queued image(s) are pending until it is resumed."));
        }

        var batches = await _scanner.EnqueuePendingAsync(dataset, cancellationToken);
        return Logged(new DatasetControlResult(withdrawal.Dataset, $"{dataset} now has {priority.ToText()} priority: {batches} batch(es) queued on its queue ({withdrawal.ImagesReturned} image(s) moved)."));
    }

    /// <summary>Sets (a positive number) or clears (null) the cap on the dataset's concurrent batches.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrentBatches"/> is not positive.</exception>
    public async Task<DatasetControlResult?> SetBatchCapAsync(string dataset, int? maxConcurrentBatches, CancellationToken cancellationToken)
    {
        if (maxConcurrentBatches is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxConcurrentBatches), maxConcurrentBatches, "A batch cap is a positive number, or none.");
        }

        var after = await _store.SetDatasetBatchCapAsync(dataset, maxConcurrentBatches, cancellationToken);
        return after is null ? null : Logged(new DatasetControlResult(after, maxConcurrentBatches is { } cap
            ? $"{dataset}: at most {cap} batch(es) at once."
            : $"{dataset}: no cap on concurrent batches."));
    }

    // One line per change of a dataset's control state, whoever asked (dashboard job, API, CLI).
    private DatasetControlResult Logged(DatasetControlResult result)
    {
        LogChanged(_logger, result.Summary);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset control: {Summary}")]
    private static partial void LogChanged(ILogger logger, string summary);
}
