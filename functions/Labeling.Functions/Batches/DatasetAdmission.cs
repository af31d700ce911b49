using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Batches;

/// <summary>What a worker does with a label batch before starting it.</summary>
public enum AdmissionDecision
{
    /// <summary>Label it now (under its lease, when it has one).</summary>
    Proceed,

    /// <summary>Put it back for <see cref="Admission.Delay"/> (its dataset is paused, or at its batch cap).</summary>
    Defer,

    /// <summary>Delete it unprocessed: its work was withdrawn (cancelled, or moved to another priority's queue).</summary>
    Drop,
}

/// <summary>The admission's answer for one batch.</summary>
/// <param name="Decision">What to do.</param>
/// <param name="Delay">For <see cref="AdmissionDecision.Defer"/>: how long to put the batch back for.</param>
/// <param name="Reason">Why, for the log.</param>
/// <param name="Lease">For <see cref="AdmissionDecision.Proceed"/>: the batch's place under its dataset's cap, to dispose when the batch ends (null when none was needed).</param>
public sealed record Admission(AdmissionDecision Decision, TimeSpan Delay, string Reason, IAsyncDisposable? Lease)
{
    /// <summary>Proceed without a lease.</summary>
    public static Admission ProceedFreely { get; } = new(AdmissionDecision.Proceed, TimeSpan.Zero, "no dataset control applies", null);
}

/// <summary>
/// The one owner of the between-batches rule of dataset control (docs/workers.md, "Dataset control"), asked for every
/// parsed label message before its batch starts: a batch queued under an older generation than its dataset's is
/// dropped (its images went back to pending when the work was cancelled or moved), paused or not; a batch of a paused
/// dataset is deferred by <see cref="DatasetAdmissionOptions.PausedRecheckDelay"/>; a batch of a dataset at its cap of
/// concurrent batches is deferred by <see cref="DatasetAdmissionOptions.CapRecheckDelay"/>; any other batch proceeds
/// under a lease (<c>batch_leases</c>) that is renewed while it runs and deleted when it ends. A message without a
/// dataset id (an older writer's) finds its datasets from its images; one whose images span datasets is only held
/// back by a pause (no generation, no cap).
/// </summary>
public sealed partial class DatasetAdmission
{
    private readonly ILabelStore _store;
    private readonly DatasetAdmissionOptions _options;
    private readonly ILogger<DatasetAdmission> _logger;
    private readonly TimeProvider _time;
    private readonly string _holder = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>Creates the admission; the options are validated.</summary>
    public DatasetAdmission(ILabelStore store, IOptions<DatasetAdmissionOptions> options, ILogger<DatasetAdmission> logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Value.Validate();
        _store = store;
        _options = options.Value;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Decides on <paramref name="message"/> (see the class summary). Store failures are thrown: the message then comes back later.</summary>
    public async Task<Admission> AdmitAsync(LabelMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var datasets = await DatasetsOfAsync(message, cancellationToken);
        if (datasets.Count == 0)
        {
            // Unknown dataset or images: the handler finds out and says so.
            return Admission.ProceedFreely;
        }

        // Withdrawn work goes first: a cancel also pauses, and its old messages must not wait for a resume to be dropped.
        if (datasets.Count == 1 && message.Generation is { } generation && generation < datasets[0].Generation)
        {
            var reason = $"queued under generation {generation}; dataset '{datasets[0].Name}' is at generation {datasets[0].Generation} (its queued work was cancelled or moved)";
            Log.Dropped(_logger, message.Batch, reason);
            return new Admission(AdmissionDecision.Drop, TimeSpan.Zero, reason, null);
        }

        if (datasets.FirstOrDefault(d => d.State == DatasetState.Paused) is { } paused)
        {
            Log.Deferred(_logger, message.Batch, paused.Name, "paused", _options.PausedRecheckDelay);
            return new Admission(AdmissionDecision.Defer, _options.PausedRecheckDelay, $"dataset '{paused.Name}' is paused", null);
        }

        if (datasets.Count > 1)
        {
            return Admission.ProceedFreely;
        }

        var dataset = datasets[0];

        if (!await _store.TryTakeBatchLeaseAsync(message.Batch, dataset.Id, _holder, _options.LeaseDuration, cancellationToken))
        {
            Log.Deferred(_logger, message.Batch, dataset.Name, $"at its cap of {dataset.MaxConcurrentBatches} concurrent batches", _options.CapRecheckDelay);
            return new Admission(AdmissionDecision.Defer, _options.CapRecheckDelay, $"dataset '{dataset.Name}' runs {dataset.MaxConcurrentBatches} batches already (its cap)", null);
        }

        return new Admission(AdmissionDecision.Proceed, TimeSpan.Zero, $"dataset '{dataset.Name}'", new BatchLease(this, message.Batch));
    }

    private async Task<IReadOnlyList<DatasetControlRecord>> DatasetsOfAsync(LabelMessage message, CancellationToken cancellationToken)
    {
        if (message.Dataset is { } id)
        {
            return await _store.GetDatasetControlAsync(id, cancellationToken) is { } one ? [one] : [];
        }

        var images = await _store.GetImagesAsync(message.ImageIds, cancellationToken);
        var datasets = new List<DatasetControlRecord>();
        foreach (var datasetId in images.Select(i => i.DatasetId).Distinct().Order())
        {
            if (await _store.GetDatasetControlAsync(datasetId, cancellationToken) is { } control)
            {
                datasets.Add(control);
            }
        }

        return datasets;
    }

    /// <summary>A running batch's place under its dataset's cap: renewed every third of the lease duration, deleted on dispose.</summary>
    private sealed class BatchLease : IAsyncDisposable
    {
        private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(10);
        private readonly DatasetAdmission _owner;
        private readonly Guid _batch;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewals;

        public BatchLease(DatasetAdmission owner, Guid batch)
        {
            _owner = owner;
            _batch = batch;
            _renewals = Task.Run(RenewAsync);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _renewals;
            _stop.Dispose();
            using var timeout = new CancellationTokenSource(ReleaseTimeout);
            try
            {
                await _owner._store.ReleaseBatchLeaseAsync(_batch, _owner._holder, timeout.Token);
            }
            catch (Exception e)
            {
                // The lease expires by itself; until then it holds one place of the cap.
                Log.ReleaseFailed(_owner._logger, _batch, _owner._options.LeaseDuration, e);
            }
        }

        private async Task RenewAsync()
        {
            var period = _owner._options.LeaseDuration / 3;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(period, _owner._time, _stop.Token);
                    if (!await _owner._store.RenewBatchLeaseAsync(_batch, _owner._holder, _owner._options.LeaseDuration, _stop.Token))
                    {
                        Log.LeaseGone(_owner._logger, _batch);
                        return;
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // Try again next period: the lease outlives two missed renewals.
                    Log.RenewFailed(_owner._logger, _batch, e);
                }
            }
        }
    }

    private static partial class Log
    {
        // Debug: one per message and recheck while a dataset is paused; the pause itself is the state change that is logged.
        [LoggerMessage(Level = LogLevel.Debug, Message = "Batch {Batch} deferred: dataset '{Dataset}' is {Why}; looking again in {Delay}.")]
        public static partial void Deferred(ILogger logger, Guid batch, string dataset, string why, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Batch {Batch} dropped: {Reason}.")]
        public static partial void Dropped(ILogger logger, Guid batch, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of batch {Batch} failed; trying again.")]
        public static partial void RenewFailed(ILogger logger, Guid batch, Exception exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "The lease of batch {Batch} is gone (it expired and the batch was taken over); it no longer counts against its dataset's cap.")]
        public static partial void LeaseGone(ILogger logger, Guid batch);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing the lease of batch {Batch} failed; it expires by itself within {Duration}.")]
        public static partial void ReleaseFailed(ILogger logger, Guid batch, TimeSpan duration, Exception exception);
    }
}
