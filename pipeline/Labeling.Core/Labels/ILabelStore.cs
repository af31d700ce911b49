namespace Labeling.Labels;

/// <summary>
/// The labels database (SQLite or PostgreSQL): datasets, images, tags, classes, boxes, models.
/// Every call is parameterised SQL; batch calls run in one transaction each.
/// </summary>
public partial interface ILabelStore
{
    /// <summary>Returns the id of the dataset called <paramref name="name"/>, creating it if needed.</summary>
    Task<long> EnsureDatasetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Returns normalised name → class id for <paramref name="names"/> (raw tag names), creating missing classes.</summary>
    Task<IReadOnlyDictionary<string, long>> EnsureClassesAsync(IEnumerable<string> names, CancellationToken cancellationToken);

    /// <summary>Every class name (normalised), in ordinal order: what <c>--class</c> filters can name.</summary>
    Task<IReadOnlyList<string>> ListClassNamesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Registers images idempotently: a known blob path returns its image
    /// (<see cref="RegistrationOutcome.AlreadyRegistered"/>); a new path whose content hash the
    /// dataset already holds returns that image (<see cref="RegistrationOutcome.DuplicateContent"/>).
    /// </summary>
    Task<IReadOnlyList<RegisteredImage>> RegisterImagesAsync(long datasetId, IReadOnlyList<NewImage> images, CancellationToken cancellationToken);

    /// <summary>Adds tags (normalised, classes created as needed); adding a tag twice is a no-op.</summary>
    Task AddTagsAsync(IReadOnlyList<ImageTag> tags, CancellationToken cancellationToken);

    /// <summary>The tags of the given images with their grounded/weak state.</summary>
    Task<IReadOnlyList<ImageTagRecord>> GetTagsAsync(IReadOnlyList<long> imageIds, CancellationToken cancellationToken);

    /// <summary>Replaces the human boxes of each image with the given ones (all must have source human).</summary>
    Task ReplaceHumanBoxesAsync(IReadOnlyList<ImageBoxes> images, CancellationToken cancellationToken);

    /// <summary>
    /// Writes what model <paramref name="modelId"/> found in each image, in one transaction:
    /// replaces any earlier boxes of the same (image, model) pair, records each tag as grounded or
    /// weak, and marks the images labelled by that model. A redelivered batch never duplicates boxes.
    /// </summary>
    Task WriteLabelsAsync(long modelId, IReadOnlyList<ImageLabels> labels, CancellationToken cancellationToken);

    /// <summary>Sets the status of images; <paramref name="reason"/> is kept as the last error (null clears it). Moving to <see cref="ImageStatus.Queued"/> counts an attempt.</summary>
    Task SetStatusAsync(IReadOnlyList<long> imageIds, ImageStatus status, string? reason, CancellationToken cancellationToken);

    /// <summary>Blob path → image id for the given paths (unregistered paths are left out).</summary>
    Task<IReadOnlyDictionary<string, long>> GetImageIdsByPathAsync(IReadOnlyList<string> blobPaths, CancellationToken cancellationToken);

    /// <summary>The images with the given ids (unknown ids are left out).</summary>
    Task<IReadOnlyList<ImageRecord>> GetImagesAsync(IReadOnlyList<long> imageIds, CancellationToken cancellationToken);

    /// <summary>One page of boxes matching <paramref name="query"/>, in box id order.</summary>
    Task<BoxPage> QueryBoxesAsync(BoxQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// One page of images that have a box matching <paramref name="filter"/> (its paging members are
    /// ignored), each with its matching boxes, in image id order after <paramref name="afterImageId"/>;
    /// <paramref name="limit"/> 1–500. What the review page shows.
    /// </summary>
    Task<ReviewPage> QueryReviewImagesAsync(BoxQuery filter, long afterImageId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// One page of the images a training pool is drawn from: images with at least one tag or box, in
    /// id order after <paramref name="afterImageId"/>, <paramref name="limit"/> 1–1,000, each with its
    /// dataset, tags and boxes. The boxes are the human boxes and the model boxes of the model that
    /// labelled the image last (<see cref="ImageRecord.LabelledByModelId"/>); boxes of earlier models
    /// that a relabel by another model left behind are not returned. Splits are not filtered.
    /// </summary>
    Task<PoolPage> GetPoolImagesAsync(long afterImageId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Sets labelled images that the model <paramref name="modelId"/> did not label back to pending
    /// (for one dataset or, null, all), so that the next enqueue sends them to the workers again.
    /// Returns how many images changed. Running it twice changes nothing the second time.
    /// </summary>
    Task<int> MarkStaleForRelabelAsync(long modelId, string? dataset, CancellationToken cancellationToken);

    /// <summary>Counts by status and boxes, for one dataset or (null) all of them.</summary>
    Task<IReadOnlyList<DatasetProgress>> GetProgressAsync(string? dataset, CancellationToken cancellationToken);

    /// <summary>Registers a model as a candidate and returns its id; a version that exists already is an error.</summary>
    Task<long> RegisterModelAsync(NewModel model, CancellationToken cancellationToken);

    /// <summary>The model with the given version, or null.</summary>
    Task<ModelRecord?> GetModelAsync(string version, CancellationToken cancellationToken);

    /// <summary>Every registered model, in id (registration) order.</summary>
    Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>The active model (the one workers label with), or null when none is.</summary>
    Task<ModelRecord?> GetActiveModelAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes model <paramref name="version"/> the active one unless it is already; the previously active model becomes
    /// retired, in one transaction that no other change of the active model interleaves with. False (nothing changed)
    /// when <paramref name="version"/> was active already.
    /// </summary>
    /// <exception cref="InvalidOperationException">No such model.</exception>
    Task<bool> ActivateModelAsync(string version, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="metricsJson"/> (a JSON object: the gate's evaluation) on model <paramref name="version"/>, replacing what was there.</summary>
    /// <exception cref="ArgumentException">The text is not a JSON object.</exception>
    /// <exception cref="InvalidOperationException">No such model.</exception>
    Task SetModelMetricsAsync(string version, string metricsJson, CancellationToken cancellationToken);

    /// <summary>Marks model <paramref name="version"/> rejected with <paramref name="reason"/>; the active model cannot be rejected (roll back first).</summary>
    /// <exception cref="InvalidOperationException">No such model, or it is the active one.</exception>
    Task RejectModelAsync(string version, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Marks model <paramref name="version"/> rejected with <paramref name="reason"/> only while its status is still
    /// <paramref name="expected"/> (a conditional update: a model promoted or rejected meanwhile is left alone).
    /// False (nothing changed) when it no longer is.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="expected"/> is <see cref="ModelStatus.Active"/> (roll back first).</exception>
    /// <exception cref="InvalidOperationException">No such model.</exception>
    Task<bool> RejectModelAsync(string version, string reason, ModelStatus expected, CancellationToken cancellationToken);

    /// <summary>
    /// Rolls back from model <paramref name="version"/>, only while it is the active model: the previously active model
    /// (the retired model activated most recently) becomes active again and <paramref name="version"/> rejected with reason
    /// "rolled back", in one transaction. Returns the version now active, or null (nothing changed) when
    /// <paramref name="version"/> is not the active model (a second rollback of the same model changes nothing) or no
    /// model was active before it.
    /// </summary>
    Task<string?> RollbackModelAsync(string version, CancellationToken cancellationToken);

    /// <summary>Ids of images in <paramref name="status"/> (of one dataset, or all), in id order after <paramref name="afterId"/>: a page of at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<long>> GetImageIdsByStatusAsync(ImageStatus status, string? dataset, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="GetImageIdsByStatusAsync"/>, only images with at least one tag in state <see cref="TagState.Weak"/>
    /// (the last model found no box for it): what a relabel generation sends first.
    /// </summary>
    Task<IReadOnlyList<long>> GetImageIdsWithWeakTagsAsync(ImageStatus status, string? dataset, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Records a training run as running (its heartbeat now), with its pool policy (a JSON object); returns its id.</summary>
    Task<long> StartTrainingRunAsync(NewTrainingRun run, CancellationToken cancellationToken);

    /// <summary>
    /// The run's process is alive: sets its heartbeat to now. False when the run is no longer running (it finished, or
    /// a host took it for dead and interrupted it): its process must then stop, another one resumes it.
    /// </summary>
    Task<bool> HeartbeatTrainingRunAsync(long runId, CancellationToken cancellationToken);

    /// <summary>
    /// Ends a run whose process died as failed with <paramref name="reason"/>, only if it is still running: true for
    /// exactly one caller, so two hosts that both find the run orphaned never both resume it.
    /// </summary>
    Task<bool> InterruptTrainingRunAsync(long runId, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Ends run <paramref name="runId"/>: its status, the model it registered (whose <c>training_run_id</c> then points
    /// back at it), what the pool held (JSON object) and, for a failure, why.
    /// </summary>
    Task FinishTrainingRunAsync(long runId, TrainingRunStatus status, long? modelId, string? poolStatsJson, string? error, CancellationToken cancellationToken);

    /// <summary>Every training run, in id order.</summary>
    Task<IReadOnlyList<TrainingRunRecord>> ListTrainingRunsAsync(CancellationToken cancellationToken);

    /// <summary>How big the pool is now: images outside the gold split that did not fail, and distinct tag classes.</summary>
    Task<PoolSummary> GetPoolSummaryAsync(CancellationToken cancellationToken);

    /// <summary>The stored scan checkpoint (the last blob name processed) of <paramref name="scope"/>, or null.</summary>
    Task<string?> GetCheckpointAsync(string scope, CancellationToken cancellationToken);

    /// <summary>Stores the scan checkpoint of <paramref name="scope"/>.</summary>
    Task SetCheckpointAsync(string scope, string lastName, CancellationToken cancellationToken);
}
