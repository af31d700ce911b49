namespace Labeling.Labels;

/// <summary>Job control per dataset: state, priority, batch cap, generation, batch leases and the recent rate (docs/workers.md, "Dataset control").</summary>
public partial interface ILabelStore
{
    /// <summary>The control settings of every dataset, by name.</summary>
    Task<IReadOnlyList<DatasetControlRecord>> ListDatasetControlsAsync(CancellationToken cancellationToken);

    /// <summary>The control settings of the dataset called <paramref name="name"/>, or null when there is none.</summary>
    Task<DatasetControlRecord?> GetDatasetControlAsync(string name, CancellationToken cancellationToken);

    /// <summary>The control settings of the dataset with row id <paramref name="datasetId"/>, or null when there is none.</summary>
    Task<DatasetControlRecord?> GetDatasetControlAsync(long datasetId, CancellationToken cancellationToken);

    /// <summary>Sets the dataset's state; returns its settings after, or null (nothing changed) when there is no such dataset.</summary>
    Task<DatasetControlRecord?> SetDatasetStateAsync(string name, DatasetState state, CancellationToken cancellationToken);

    /// <summary>Sets (a positive number) or clears (null) the dataset's cap on concurrent batches; null when there is no such dataset.</summary>
    Task<DatasetControlRecord?> SetDatasetBatchCapAsync(string name, int? maxConcurrentBatches, CancellationToken cancellationToken);

    /// <summary>
    /// Takes back the dataset's queued work, in one transaction: bumps its generation (so workers drop the messages
    /// queued before), sets its state and/or priority when given, and sets its queued images back to pending (never
    /// failed). Null when there is no such dataset.
    /// </summary>
    Task<DatasetWithdrawal?> WithdrawQueuedAsync(string name, DatasetState? state, DatasetPriority? priority, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the given pending images of dataset <paramref name="datasetId"/> queued (counting an attempt) only while the
    /// dataset's generation is still <paramref name="generation"/>: a withdrawal that came between reading the
    /// generation and this call wins, and the images stay pending. Returns how many images were marked.
    /// </summary>
    Task<int> MarkQueuedAsync(long datasetId, long generation, IReadOnlyList<long> imageIds, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="limit"/> pending images of dataset <paramref name="datasetId"/> (in id order after
    /// <paramref name="afterId"/>; with <paramref name="weakTagsOnly"/> only those with a weak tag), marks them queued
    /// (counting an attempt) only while the dataset's generation is still <paramref name="generation"/>, and hands their
    /// ids to <paramref name="send"/>. One atomic update claims them, so of any number of callers at once (the scan, a
    /// relabel, another host) each image goes to one. Nothing is lost: when <paramref name="send"/> throws, the images are
    /// pending again and the exception propagates. Returns the ids claimed and sent, in id order; empty when none is
    /// pending or the generation moved on (a cancel or a priority change came first).
    /// </summary>
    Task<IReadOnlyList<long>> ClaimPendingAsync(
        long datasetId, long generation, long afterId, int limit, bool weakTagsOnly,
        Func<IReadOnlyList<long>, CancellationToken, Task> send, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lease of label batch <paramref name="batch"/> of dataset <paramref name="datasetId"/> for
    /// <paramref name="duration"/>, only while the dataset's other live leases are below its cap (always, without a cap).
    /// A lease the same batch holds already (a redelivered message) is taken over. False: the cap is reached.
    /// </summary>
    Task<bool> TryTakeBatchLeaseAsync(Guid batch, long datasetId, string holder, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Extends the lease of <paramref name="batch"/> to <paramref name="duration"/> from now; false when <paramref name="holder"/> no longer holds it.</summary>
    Task<bool> RenewBatchLeaseAsync(Guid batch, string holder, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Deletes the lease of <paramref name="batch"/> held by <paramref name="holder"/> (the batch ended); no error when it is gone.</summary>
    Task ReleaseBatchLeaseAsync(Guid batch, string holder, CancellationToken cancellationToken);

    /// <summary>
    /// Every dataset's settings, image counts, live batch leases and the images labelled within the last
    /// <paramref name="window"/> (the rate and ETA come from these), by name.
    /// </summary>
    Task<IReadOnlyList<DatasetActivity>> GetDatasetActivityAsync(TimeSpan window, CancellationToken cancellationToken);
}
