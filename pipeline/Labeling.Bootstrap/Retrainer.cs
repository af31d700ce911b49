using System.Globalization;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Labeling.Functions.Models;
using Labeling.Labels;
using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Trainer.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Labeling.Bootstrap;

/// <summary>What a retraining run does. Bound from the <c>Retraining</c> section.</summary>
public sealed record RetrainingOptions
{
    public const string Section = "Retraining";

    /// <summary>Where runs keep their files (a folder per candidate version: model, weights, checkpoints).</summary>
    public string WorkFolder { get; init; } = Path.Combine("data", "retraining");

    /// <summary>Pool and gold split from these datasets only, or null for all.</summary>
    public IReadOnlyList<string>? Datasets { get; init; }

    /// <summary>Model preset and input size when there is no active model to warm-start from (or it has no weights).</summary>
    public string Preset { get; init; } = "small";

    public int ImageSize { get; init; } = 256;

    public int Steps { get; init; } = 1000;

    public int BatchSize { get; init; } = 8;

    /// <summary>Write a checkpoint every this many steps (a killed run resumes from the last one).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Peak learning rate (a warm start needs less than training from scratch).</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Tag-only batches per box batch.</summary>
    public int TagBatchesPerBoxBatch { get; init; } = 1;

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>cpu, cuda or auto.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Candidates are versioned <c>PREFIX-yyyyMMdd-HHmmss-JOBID</c> (the host's job) or <c>PREFIX-yyyyMMdd-HHmmss</c> (the CLI).</summary>
    public string VersionPrefix { get; init; } = "auto";

    /// <summary>The candidate a run named <paramref name="runId"/> builds: <c>PREFIX-RUNID</c>.</summary>
    public string CandidateVersion(string runId) => $"{VersionPrefix}-{runId}";

    /// <summary>A new run id: the UTC time, then the job id when a job runs it (job ids alone repeat across hosts).</summary>
    public static string NewRunId(DateTime utcNow, string? jobId) =>
        utcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + (jobId is null ? "" : $"-{jobId}");

    /// <summary>The promotion gate's tolerances.</summary>
    public GateOptions Gate { get; init; } = new();

    /// <summary>After a promotion, send every image the new model did not label back to the workers (a relabel generation).</summary>
    public bool RelabelAfterPromotion { get; init; } = true;

    /// <summary>Queue a retrain once the pool has grown by this fraction since the active model's run (0, the default: off).</summary>
    public double TriggerOnGrowth { get; init; }

    /// <summary>Queue a retrain once tags of classes the active model's run never saw appear (default false).</summary>
    public bool TriggerOnNewTags { get; init; }

    /// <summary>In a relabel generation, send the images whose tags are still weak first (default true).</summary>
    public bool RelabelWeakTagsFirst { get; init; } = true;

    /// <summary>How often a running run records that its process is alive (default 30 s).</summary>
    public TimeSpan HeartbeatEvery { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A running run whose heartbeat is older than this is taken for dead (its host was killed) and resumed from its
    /// last checkpoint (default 10 min). A run of a dead process on the same machine is resumed at once.
    /// </summary>
    public TimeSpan OrphanAfter { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(WorkFolder);
        ArgumentOutOfRangeException.ThrowIfLessThan(Steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(CheckpointEvery, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Threads, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(TagBatchesPerBoxBatch);
        if (!(TriggerOnGrowth is >= 0 and <= 100))
        {
            throw new ArgumentException($"{Section}:TriggerOnGrowth must be a fraction ≥ 0 (0.2: 20 % more images), not {TriggerOnGrowth}.");
        }
        if (!ModelRegistration.IsValidVersion(CandidateVersion(NewRunId(DateTime.UnixEpoch, null))))
        {
            throw new ArgumentException($"{Section}:VersionPrefix '{VersionPrefix}' must be letters, digits, '.', '-' or '_'.");
        }

        if (HeartbeatEvery <= TimeSpan.Zero || OrphanAfter < 2 * HeartbeatEvery)
        {
            throw new ArgumentException($"{Section}:HeartbeatEvery must be positive and {Section}:OrphanAfter at least twice as long (a live run would be taken for dead), not {HeartbeatEvery} and {OrphanAfter}.");
        }

        Gate.Validate();
        DetectorConfig.Preset(Preset);
    }
}

/// <summary>How a run ended.</summary>
/// <param name="Version">The candidate's version.</param>
/// <param name="Parent">The model active when the run started (its warm start and the gate's yardstick), or null.</param>
/// <param name="WarmStarted">Whether training started from the parent's weights.</param>
/// <param name="Pool">What the pool held.</param>
/// <param name="Candidate">The candidate's scores on the gold split.</param>
/// <param name="Active">The parent's scores on the same split, or null.</param>
/// <param name="Decision">The gate's verdict.</param>
/// <param name="Relabelled">Images sent back to the workers after a promotion.</param>
/// <param name="ResumedFromStep">The checkpoint step training continued from (an interrupted run), or null.</param>
public sealed record RetrainOutcome(
    string Version, string? Parent, bool WarmStarted, TrainingSourceCounts Pool, GoldMetrics Candidate, GoldMetrics? Active,
    GateDecision Decision, int Relabelled, int? ResumedFromStep = null)
{
    /// <summary>One line for the dashboard's job result and the CLI.</summary>
    public string Summary =>
        $"{Version} {(Decision.Promote ? "promoted" : "rejected")}: {Decision.Reason}. Trained {(WarmStarted ? $"from {Parent}" : "from scratch")}"
        + (ResumedFromStep is { } step ? $" (resumed at step {step})" : "") + " on "
        + $"{Pool.BoxImages} box image(s), {Pool.TagOnlyImages} tag-only image(s), {Pool.Boxes} box(es)"
        + (Decision.Promote ? $"; {Relabelled} image(s) sent to be relabelled." : ".");
}

/// <summary>
/// One retraining run, step 7's loop: warm-start from the active model (its weights and config travel beside it in
/// <c>models/</c>), train on the label store's pool, register the result as a candidate whose parent is the active
/// model, score both on the gold split, store the metrics, and let <see cref="PromotionGate"/> decide: promote
/// (activate, then send the images an older model labelled back to the workers) or reject with the reason.
/// </summary>
public sealed partial class Retrainer(ILabelStore store, IBlobStore blobs, InboxScanner scanner, ILoggerFactory? loggers = null)
{
    private readonly ILogger _logger = loggers?.CreateLogger<Retrainer>() ?? (ILogger)NullLogger.Instance;

    /// <summary>
    /// Runs once. <paramref name="runId"/> names the candidate <c>PREFIX-RUNID</c> (the host's retrain job passes its start
    /// time and job id, kept with the job, so that a job fetched again after its host died finds its version folder and
    /// resumes from the last checkpoint); null names it by the UTC time.
    /// </summary>
    public Task<RetrainOutcome> RunAsync(RetrainingOptions options, string? runId, Action<string, double>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var version = options.CandidateVersion(runId ?? RetrainingOptions.NewRunId(DateTime.UtcNow, null));
        if (!ModelRegistration.IsValidVersion(version))
        {
            throw new ArgumentException($"Run id '{runId}' does not make a valid model version.", nameof(runId));
        }

        return RunVersionAsync(options, version, progress, cancellationToken);
    }

    /// <summary>
    /// Continues the run that builds <paramref name="version"/> (its host died): training picks up at the last
    /// checkpoint in its folder, then it is scored, registered and gated like any run.
    /// </summary>
    public Task<RetrainOutcome> ResumeAsync(RetrainingOptions options, string version, Action<string, double>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!ModelRegistration.IsValidVersion(version))
        {
            throw new ArgumentException($"'{version}' is not a model version.", nameof(version));
        }

        return RunVersionAsync(options, version, progress, cancellationToken);
    }

    private async Task<RetrainOutcome> RunVersionAsync(RetrainingOptions options, string version, Action<string, double>? progress, CancellationToken cancellationToken)
    {
        options.Validate();
        if (await store.GetModelAsync(version, cancellationToken) is not null)
        {
            throw new InvalidOperationException($"Model {version} is registered already: this run finished before.");
        }

        // The gate needs the gold split: fail before training, not after.
        var split = await GoldEvaluation.LoadSplitAsync(store, new GoldEvaluationOptions { Datasets = options.Datasets }, cancellationToken);
        var active = await store.GetActiveModelAsync(cancellationToken);
        var poolNow = await store.GetPoolSummaryAsync(cancellationToken); // recorded for the growth trigger of the next run
        var folder = Path.GetFullPath(Path.Combine(options.WorkFolder, version));
        Directory.CreateDirectory(folder);

        var checkpoints = Path.Combine(folder, "checkpoints");
        var resumedFrom = Checkpoints.LastStep(checkpoints);
        // Another run of this version still marked running: if its process died (Hangfire re-queued its job after the
        // host was lost), this one takes over and the record says so; if it may be alive, two runs must not share a folder.
        foreach (var other in (await store.ListTrainingRunsAsync(cancellationToken)).Where(r => r.Status == TrainingRunStatus.Running && r.Version == version))
        {
            if (TrainingRecovery.WhyOrphaned(other, options.OrphanAfter, DateTimeOffset.UtcNow) is not { } why)
            {
                throw new InvalidOperationException($"Training run {other.Id} of {version} is in progress (process {other.Owner}, last heartbeat {other.HeartbeatAt:u}).");
            }

            await store.InterruptTrainingRunAsync(other.Id, $"interrupted: {why}; a new run continues {version} from step {resumedFrom ?? 0}", cancellationToken);
        }

        var policy = JsonSerializer.Serialize(new { options.Datasets, options.Steps, options.LearningRate, options.TagBatchesPerBoxBatch, options.BatchSize, version });
        var trainingRun = await store.StartTrainingRunAsync(new NewTrainingRun(active?.Id, policy, version, RunOwner.Current, resumedFrom), cancellationToken);
        using var heartbeat = new RunHeartbeat(store, trainingRun, options.HeartbeatEvery, cancellationToken);
        cancellationToken = heartbeat.Token;
        try
        {
            string? activePath = null, warmWeights = null;
            DetectorConfig? config = null;
            if (active is not null)
            {
                activePath = await DownloadAsync(active.BlobUri, Path.Combine(folder, "parent.onnx"), cancellationToken)
                    ?? throw new InvalidOperationException($"The active model {active.Version} has no file at {active.BlobUri}.");
                var weights = await DownloadAsync($"models/{active.Version}.weights", Path.Combine(folder, "parent.weights"), cancellationToken);
                var configPath = await DownloadAsync($"models/{active.Version}.config.json", Path.Combine(folder, "parent.config.json"), cancellationToken);
                if (weights is not null && configPath is not null)
                {
                    (warmWeights, config) = (weights, TrainingRun.ReadConfig(configPath));
                }
                else
                {
                    LogNoWeights(_logger, active.Version);
                }
            }

            config ??= DetectorConfig.Preset(options.Preset) with { InputSize = options.ImageSize };
            var modelPath = Path.Combine(folder, version + ".onnx");
            progress?.Invoke($"training {version}", 0);
            var trained = await TrainingRun.RunAsync(new TrainingRunRequest
            {
                Source = new TrainingPool(store, blobs, new TrainingPoolOptions { Datasets = options.Datasets }),
                Model = config,
                Training = new TrainingOptions
                {
                    Steps = options.Steps,
                    BatchSize = options.BatchSize,
                    LearningRate = options.LearningRate,
                    WarmupSteps = Math.Min(100, options.Steps / 10),
                    Threads = options.Threads,
                    Device = options.Device,
                    // A host killed mid-training resumes from here when the same run (run id) starts again.
                    CheckpointFolder = checkpoints,
                    CheckpointEvery = options.CheckpointEvery,
                    ReportEvery = Math.Min(10, options.CheckpointEvery),
                },
                Sampler = new BatchSamplerOptions { BatchSize = options.BatchSize, BoxWeight = 1, TagWeight = options.TagBatchesPerBoxBatch },
                OutputPath = modelPath,
                WarmStartWeights = warmWeights,
            }, loggers?.CreateLogger("Labeling.Trainer") ?? NullLogger.Instance, p => progress?.Invoke($"training {version}: step {p.Step}/{p.Steps}", 0.8 * p.Step / p.Steps), cancellationToken);

            progress?.Invoke("scoring on the gold split", 0.8);
            var evaluation = new GoldEvaluationOptions { Threads = options.Threads };
            var (candidate, _) = await GoldEvaluation.EvaluateAsync(split, blobs, modelPath, evaluation, null, cancellationToken);
            GoldMetrics? activeMetrics = null;
            if (activePath is not null)
            {
                (activeMetrics, _) = await GoldEvaluation.EvaluateAsync(split, blobs, activePath, evaluation, null, cancellationToken);
            }

            // Written, read back and hash-checked, loaded, and only then registered: a half-written model never becomes a candidate.
            var registered = await ModelRegistration.RegisterFileAsync(store, blobs, modelPath, version, activate: false, active?.Id, cancellationToken);
            var decision = PromotionGate.Decide(candidate, activeMetrics, active?.Version, options.Gate);
            var poolStats = new { trained.Counts.BoxImages, trained.Counts.TagOnlyImages, trained.Counts.Boxes, classes = trained.Counts.ClassNames.Count };
            var storeStats = new { images = poolNow.Images, tagClasses = poolNow.TagClasses };
            await store.SetModelMetricsAsync(version, JsonSerializer.Serialize(new
            {
                gold = candidate,
                parent = active is null ? null : new { version = active.Version, gold = activeMetrics },
                pool = poolStats,
                store = storeStats,
                policy = new { options.Datasets, options.Steps, options.LearningRate, options.TagBatchesPerBoxBatch, warmStart = warmWeights is not null, resumedFromStep = resumedFrom },
                gate = new { decision.Promote, decision.Reason, options.Gate.APTolerance, options.Gate.APNovelTolerance },
            }), cancellationToken);

            var relabelled = 0;
            if (decision.Promote)
            {
                await store.ActivateModelAsync(version, cancellationToken);
                if (options.RelabelAfterPromotion)
                {
                    relabelled = await store.MarkStaleForRelabelAsync(registered.Id, null, cancellationToken);
                    await scanner.EnqueuePendingAsync(null, options.RelabelWeakTagsFirst, cancellationToken);
                }
            }
            else
            {
                await store.RejectModelAsync(version, decision.Reason, cancellationToken);
            }

            await store.FinishTrainingRunAsync(trainingRun, TrainingRunStatus.Succeeded, registered.Id,
                JsonSerializer.Serialize(new { pool = poolStats, store = storeStats }), null, CancellationToken.None);
            var outcome = new RetrainOutcome(version, active?.Version, warmWeights is not null, trained.Counts, candidate, activeMetrics, decision, relabelled, resumedFrom);
            LogOutcome(_logger, outcome.Summary);
            progress?.Invoke(outcome.Summary, 1);
            return outcome;
        }
        catch (OperationCanceledException) when (heartbeat.TakenOver)
        {
            // Another host took this run for dead and resumes it; its record says so already.
            throw new InvalidOperationException($"Training run {trainingRun} ({version}) stopped: another host took it for dead (no heartbeat for {options.OrphanAfter}) and resumes it.");
        }
        catch (Exception e)
        {
            // The run's record says how it ended, even when the host is shutting down; a store that is gone too
            // must not hide the run's own error.
            try
            {
                await store.FinishTrainingRunAsync(trainingRun, e is OperationCanceledException ? TrainingRunStatus.Cancelled : TrainingRunStatus.Failed, null, null, e.Message, CancellationToken.None);
            }
            catch (Exception recordError) when (recordError is not OperationCanceledException)
            {
                LogRunNotRecorded(_logger, trainingRun, recordError.Message);
            }

            throw;
        }
    }

    /// <summary>Copies a blob to <paramref name="path"/>; null when there is no such blob.</summary>
    private async Task<string?> DownloadAsync(string blobName, string path, CancellationToken cancellationToken)
    {
        if (await blobs.GetPropertiesAsync(blobName, cancellationToken) is null)
        {
            return null;
        }

        var source = await blobs.OpenReadAsync(blobName, cancellationToken);
        await using (source)
        {
            await using var target = File.Create(path);
            await source.CopyToAsync(target, cancellationToken);
        }

        return path;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The active model {Version} has no weights or config in models/: the candidate trains from scratch.")]
    private static partial void LogNoWeights(ILogger logger, string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training run {Run} ended, but its end could not be recorded: {Reason}")]
    private static partial void LogRunNotRecorded(ILogger logger, long run, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retraining: {Summary}")]
    private static partial void LogOutcome(ILogger logger, string summary);
}
