using Labeling.Functions.Batches;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// Labelling progress over every dataset: what the dashboard tiles, <c>/api/progress</c> and the
/// review page show. <see cref="Demo"/> is the bootstrap demo job of this host, null when none ran here; <see cref="Retrain"/>
/// the latest retraining run of this host, likewise. <see cref="ModelInUse"/> and <see cref="ModelLoadFailure"/> are
/// this host's in-process workers' (embedded mode): the version they label with, and an active model they could not
/// load (they keep the previous one); scale-out workers report the same on their own <c>/stats</c> and <c>/readyz</c>.
/// <see cref="Workers"/> is whether those in-process workers take batches or wait on a state of the system (no model, an
/// outage), null when this host runs none. <see cref="QueueDepth"/> and <see cref="DeadLettered"/>
/// count the label queues' messages and their poison messages, summed over the priority levels (null when the queue
/// service does not answer).
/// </summary>
public sealed record ProgressSnapshot(
    IReadOnlyList<DatasetProgress> Datasets,
    long Images,
    long Pending,
    long Queued,
    long Labelled,
    long Failed,
    long Boxes,
    string? ActiveModel,
    long? QueueDepth,
    DemoSnapshot? Demo,
    DateTimeOffset At,
    RetrainSnapshot? Retrain = null,
    string? ModelInUse = null,
    ModelLoadFailure? ModelLoadFailure = null,
    LabelReadinessState? Workers = null,
    long? DeadLettered = null);

/// <summary>Reads progress from the labels database and the label queue; keeps the last read for a second so dashboard tiles do not each hit the database.</summary>
internal sealed class ProgressReader(
    ILabelStore store, LabelQueues queues, DemoStatus demo, RetrainStatus retrain, IActiveDetector detectors,
    LabelReadiness readiness, WorkersInProcess workersInProcess, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private readonly Lock _gate = new();
    private ProgressSnapshot? _last;

    public async Task<ProgressSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var datasets = await store.GetProgressAsync(null, cancellationToken);
        var active = await store.GetActiveModelAsync(cancellationToken);
        long? depth, poison;
        try
        {
            (depth, poison) = await queues.CountAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            (depth, poison) = (null, null); // the queue service being away must not hide the database's numbers
        }

        var snapshot = new ProgressSnapshot(
            datasets,
            datasets.Sum(d => d.Images),
            datasets.Sum(d => d.Pending),
            datasets.Sum(d => d.Queued),
            datasets.Sum(d => d.Labelled),
            datasets.Sum(d => d.Failed),
            datasets.Sum(d => d.Boxes),
            active?.Version,
            depth,
            demo.Current,
            time.GetUtcNow(),
            retrain.Current,
            detectors.State.InUse,
            detectors.State.LoadFailure,
            workersInProcess.Value ? readiness.State : null,
            poison);
        lock (_gate)
        {
            _last = snapshot;
        }

        return snapshot;
    }

    /// <summary>For the dashboard's synchronous metric callbacks: the last snapshot when it is fresh, else a new read.</summary>
    public ProgressSnapshot ReadCached()
    {
        lock (_gate)
        {
            if (_last is { } last && time.GetUtcNow() - last.At < CacheFor)
            {
                return last;
            }
        }

        // Hangfire renders metrics synchronously; ASP.NET Core has no synchronisation context to deadlock on.
        return ReadAsync(CancellationToken.None).GetAwaiter().GetResult();
    }
}

/// <summary>Whether this host runs the label workers in its own process (<see cref="ServerExtensions.RunsWorkersInProcess"/>).</summary>
internal sealed record WorkersInProcess(bool Value);
