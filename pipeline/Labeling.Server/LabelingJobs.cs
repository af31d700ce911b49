using Hangfire;
using Hangfire.Server;
using Labeling.Bootstrap;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// The recurring jobs, and the manual ones the dashboard's Models page queues. Thin: each calls the
/// component that does the work, takes ids (a dataset or model name) rather than objects, is
/// idempotent (the scan resumes from its checkpoint, relabel only moves images the active model has
/// not labelled) and states its retries. The returned text is what the dashboard shows as the job's result.
/// </summary>
public sealed partial class LabelingJobs(
    InboxScanner scanner, ILabelStore store, Retrainer retrainer, IOptions<RetrainingOptions> retraining, RetrainStatus status,
    IBackgroundJobClient jobs, JobStorage storage, ILogger<LabelingJobs> logger)
{
    public const string ScanInboxId = "scan-inbox";
    public const string RetrainId = "retrain";
    public const string RetrainQueue = "training";
    public const string RelabelId = "relabel";
    public const string RollbackId = "rollback-model";
    public const string PromoteId = "promote-newest-candidate";

    /// <summary>The job parameter that keeps a retrain job's run id (its candidate is <c>PREFIX-RUNID</c>).</summary>
    internal const string RunIdParameter = "RetrainRunId";

    /// <summary>The reason a rollback gives the model it replaces (<see cref="ILabelStore.RollbackModelAsync(string, CancellationToken)"/>).</summary>
    internal const string RolledBack = "rolled back";

    /// <summary>The reason <see cref="RejectAsync"/> gives.</summary>
    internal const string RejectedByHand = "rejected by hand";

    [JobDisplayName("Scan the inbox")]
    [AutomaticRetry(Attempts = 3, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    public async Task<string> ScanInboxAsync(CancellationToken cancellationToken)
    {
        var report = await scanner.ScanAsync(cancellationToken);
        var text = $"{report.BlobsListed} blob(s) listed, {report.ImagesCreated} new image(s), {report.ImagesChanged} with new bytes, {report.TagsAdded} tag(s), "
            + $"{report.HumanBoxes} human box(es), {report.MessagesSent} batch(es) queued, {report.Problems.Count} problem(s)";
        if (report.Problems.Count > 0)
        {
            text += ": " + string.Join("; ", report.Problems.Take(20));
        }

        if (await QueueRetrainIfDueAsync(cancellationToken) is { } reason)
        {
            text += $"; retrain queued: {reason}";
        }

        // A training host on another machine that died shows only as a stale heartbeat: look every scan.
        foreach (var version in await ResumeOrphanedRunsAsync(store, jobs, storage, retraining.Value, logger, cancellationToken))
        {
            text += $"; interrupted retrain {version} resumed";
        }

        return text;
    }

    /// <summary>
    /// Claims the training runs whose process died (<see cref="TrainingRecovery"/>) and queues one
    /// <see cref="ResumeRetrainAsync"/> job per candidate on the training queue; returns the versions.
    /// </summary>
    internal static async Task<IReadOnlyList<string>> ResumeOrphanedRunsAsync(
        ILabelStore store, IBackgroundJobClient jobs, JobStorage storage, RetrainingOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var versions = await TrainingRecovery.ClaimOrphansAsync(store, options, DateTimeOffset.UtcNow, cancellationToken);
        foreach (var version in versions)
        {
            var id = jobs.Create<LabelingJobs>(j => j.ResumeRetrainAsync(version, null, CancellationToken.None), new Hangfire.States.EnqueuedState(RetrainQueue));
            LogResumeQueued(logger, version, id);
            RetireDeadJobs(jobs, storage, options, version, id);
        }

        return versions;
    }

    /// <summary>
    /// A persistent job storage still shows the dead host's job as processing (until its invisibility timeout hands it
    /// to another server): it is deleted with the reason, so the dashboard tells the same story as the run records.
    /// </summary>
    private static void RetireDeadJobs(IBackgroundJobClient jobs, JobStorage storage, RetrainingOptions options, string version, string resumeJobId)
    {
        using var connection = storage.GetConnection();
        foreach (var (jobId, job) in storage.GetMonitoringApi().ProcessingJobs(0, 500))
        {
            if (job.Job?.Type != typeof(LabelingJobs) || job.Job.Method.Name != nameof(RetrainAsync)
                || connection.GetJobParameter(jobId, RunIdParameter) is not { } parameter
                || options.CandidateVersion(Hangfire.Common.SerializationHelper.Deserialize<string>(parameter)) != version)
            {
                continue;
            }

            jobs.ChangeState(jobId, new Hangfire.States.DeletedState { Reason = $"its host died mid-training; job {resumeJobId} resumes {version} from its last checkpoint" },
                Hangfire.States.ProcessingState.StateName);
        }
    }

    /// <summary>Continues a retraining run whose host died, from its last checkpoint (queued by <see cref="ResumeOrphanedRunsAsync"/>).</summary>
    [JobDisplayName("Resume retraining {0}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    [Queue("training")]
    public Task<string> ResumeRetrainAsync(string version, PerformContext? context, CancellationToken cancellationToken) =>
        TrackRetrainAsync(progress => retrainer.ResumeAsync(retraining.Value, version, progress, cancellationToken));

    /// <summary>
    /// One retraining run (<see cref="Retrainer"/>): warm start from the active model, train on the pool, gate on the
    /// gold split, promote and relabel or reject. The candidate is <c>PREFIX-yyyyMMdd-HHmmss-JOBID</c>, kept as a job
    /// parameter, so a job Hangfire fetches again after its server died finds its checkpoints and resumes; no automatic
    /// retries otherwise (a failed run says why).
    /// </summary>
    [JobDisplayName("Retrain the detector")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    [Queue("training")]
    public async Task<string> RetrainAsync(PerformContext? context, CancellationToken cancellationToken)
    {
        // The run id (and so the candidate's version) is kept with the job: a job that a persistent storage fetches again
        // after its host died finds the same version folder and resumes. Job ids alone do not name runs: the in-memory
        // storage counts from 1 again in every host, so the start time goes first.
        var runId = context?.GetJobParameter<string>(RunIdParameter);
        if (runId is null && context is not null)
        {
            runId = RetrainingOptions.NewRunId(DateTime.UtcNow, context.BackgroundJob.Id);
            context.SetJobParameter(RunIdParameter, runId);
        }

        // A job fetched again after its host died whose run was already resumed and finished.
        if (runId is not null && await store.GetModelAsync(retraining.Value.CandidateVersion(runId), cancellationToken) is { } done)
        {
            return $"{done.Version} was finished already (resumed after its host stopped): {done.Status.ToString().ToLowerInvariant()}.";
        }

        // One run at a time across hosts: a scheduled run while another (or a resumed one) trains would share the
        // machine's cores and gate against a parent that is about to change.
        if ((await store.ListTrainingRunsAsync(cancellationToken)).FirstOrDefault(r =>
                r.Status == TrainingRunStatus.Running && TrainingRecovery.WhyOrphaned(r, retraining.Value.OrphanAfter, DateTimeOffset.UtcNow) is null) is { } busy)
        {
            return $"Skipped: training run {busy.Id} ({busy.Version ?? "no version"}) is in progress in {busy.Owner ?? "another process"}.";
        }

        return await TrackRetrainAsync(progress => retrainer.RunAsync(retraining.Value, runId, progress, cancellationToken));
    }

    /// <summary>Runs a retraining run with its progress on the dashboard's tile and in the log.</summary>
    private async Task<string> TrackRetrainAsync(Func<Action<string, double>, Task<RetrainOutcome>> run)
    {
        status.Start();
        try
        {
            var outcome = await run((text, fraction) =>
            {
                status.Report(text, fraction);
                LogRetrainProgress(logger, text);
            });
            status.Finish(outcome.Summary, outcome.Decision.Promote);
            return outcome.Summary;
        }
        catch (Exception e)
        {
            status.Fail(e.Message);
            throw;
        }
    }

    /// <summary>The optional pool-growth / new-tags trigger (<see cref="RetrainTrigger"/>): queues one retrain unless one is queued or running.</summary>
    private async Task<string?> QueueRetrainIfDueAsync(CancellationToken cancellationToken)
    {
        var options = retraining.Value;
        if (options.TriggerOnGrowth <= 0 && !options.TriggerOnNewTags)
        {
            return null;
        }

        var reason = RetrainTrigger.Reason(await store.GetPoolSummaryAsync(cancellationToken), await store.GetActiveModelAsync(cancellationToken), options);
        if (reason is null || status.Current is { Running: true })
        {
            return null;
        }

        var monitoring = storage.GetMonitoringApi();
        static bool IsRetrain(Hangfire.Common.Job? job) => job?.Type == typeof(LabelingJobs) && job.Method.Name == nameof(RetrainAsync);
        if (monitoring.EnqueuedJobs(RetrainQueue, 0, 100).Any(j => IsRetrain(j.Value.Job)) || monitoring.ProcessingJobs(0, 100).Any(j => IsRetrain(j.Value.Job)))
        {
            return null;
        }

        jobs.Create<LabelingJobs>(j => j.RetrainAsync(null, CancellationToken.None), new Hangfire.States.EnqueuedState(RetrainQueue));
        LogRetrainTriggered(logger, reason);
        return reason;
    }

    /// <summary>Manual, the recurring job's "Trigger now": rolls back from whichever model is active when it runs (<see cref="RollbackAsync(string, CancellationToken)"/>).</summary>
    [JobDisplayName("Roll back to the previous model")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> RollbackAsync(CancellationToken cancellationToken) =>
        await store.GetActiveModelAsync(cancellationToken) is { } current
            ? await RollbackAsync(current.Version, cancellationToken)
            : "No model is active: nothing to roll back.";

    /// <summary>
    /// Manual, from the dashboard's Models page: rolls back from model <paramref name="version"/> — only while it is still
    /// the active model — to the previous one, and a relabel generation follows. When <paramref name="version"/> is no
    /// longer active (a second click, a stale page) nothing changes and the result says why.
    /// </summary>
    [JobDisplayName("Roll back model {0}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> RollbackAsync(string version, CancellationToken cancellationToken)
    {
        var previous = await store.RollbackModelAsync(version, cancellationToken);
        if (previous is null)
        {
            var active = await store.GetActiveModelAsync(cancellationToken);
            return active is null ? "No model is active: nothing to roll back."
                : active.Version != version ? $"{version} is no longer the active model ({active.Version} is): nothing rolled back."
                : $"{version} is the first model ever active: nothing to roll back to.";
        }

        return $"{previous} is active again; {version} is rejected (rolled back). " + await RelabelAsync(null, cancellationToken);
    }

    /// <summary>
    /// Manual, from the dashboard: a person overrules the gate — the newest candidate or gate-rejected model (not one
    /// that was rolled back or rejected by hand) becomes active, and a relabel generation follows.
    /// </summary>
    [JobDisplayName("Promote the newest candidate")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> PromoteNewestCandidateAsync(CancellationToken cancellationToken)
    {
        var candidate = (await store.ListModelsAsync(cancellationToken))
            .Where(m => m.Status == ModelStatus.Candidate || (m.Status == ModelStatus.Rejected && m.StatusReason is not (RolledBack or RejectedByHand)))
            .MaxBy(m => m.Id);
        return candidate is null
            ? "No candidate or gate-rejected model to promote."
            : await PromoteByHandAsync(candidate, cancellationToken);
    }

    /// <summary>
    /// Manual, from the dashboard's Models page: model <paramref name="version"/> (a candidate, or a rejected or retired
    /// model) becomes active, and a relabel generation follows. A model that is active already (a second click) is left
    /// alone, and the result says so.
    /// </summary>
    [JobDisplayName("Promote model {0} by hand")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> PromoteAsync(string version, CancellationToken cancellationToken)
    {
        var model = await store.GetModelAsync(version, cancellationToken);
        return model is null ? $"No model '{version}'." : await PromoteByHandAsync(model, cancellationToken);
    }

    /// <summary>
    /// Manual, from the dashboard's Models page: candidate <paramref name="version"/> is rejected ("rejected by hand") so
    /// that no "promote the newest candidate" picks it — only while it is still a candidate: a model promoted (or
    /// rejected) since the button was shown is left alone, and the result says so.
    /// </summary>
    [JobDisplayName("Reject model {0} by hand")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> RejectAsync(string version, CancellationToken cancellationToken)
    {
        if (await store.GetModelAsync(version, cancellationToken) is null)
        {
            return $"No model '{version}'.";
        }

        if (await store.RejectModelAsync(version, RejectedByHand, ModelStatus.Candidate, cancellationToken))
        {
            return $"{version} rejected by hand (it was candidate).";
        }

        var now = await store.GetModelAsync(version, cancellationToken);
        return $"{version} is no longer a candidate (it is {now?.Status.ToString().ToLowerInvariant()}{(now?.StatusReason is { } reason ? $": {reason}" : "")}): nothing changed.";
    }

    private async Task<string> PromoteByHandAsync(ModelRecord model, CancellationToken cancellationToken)
    {
        // Conditional in the store: of two promotions of one model, the second finds it active and changes nothing.
        if (!await store.ActivateModelAsync(model.Version, cancellationToken))
        {
            return $"{model.Version} is active already: nothing changed.";
        }

        var before = model.StatusReason switch
        {
            null => "",
            RolledBack or RejectedByHand => $" (it had been {model.StatusReason})",
            var reason => $" (the gate had said: {reason})",
        };
        return $"{model.Version} promoted by hand{before}. " + await RelabelAsync(null, cancellationToken);
    }

    [JobDisplayName("Relabel images labelled by an older model")]
    [AutomaticRetry(Attempts = 3, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    public async Task<string> RelabelAsync(string? dataset, CancellationToken cancellationToken)
    {
        var active = await store.GetActiveModelAsync(cancellationToken);
        if (active is null)
        {
            return "No active model: nothing to relabel.";
        }

        var stale = await store.MarkStaleForRelabelAsync(active.Id, dataset, cancellationToken);
        var batches = await scanner.EnqueuePendingAsync(dataset, retraining.Value.RelabelWeakTagsFirst, cancellationToken);
        return $"{stale} image(s) not labelled by {active.Version} sent back; {batches} batch(es) queued.";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retraining run of {Version} was interrupted (its host died): resuming it from its last checkpoint as job {JobId}.")]
    private static partial void LogResumeQueued(ILogger logger, string version, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrain queued by the trigger: {Reason}")]
    private static partial void LogRetrainTriggered(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrain: {Text}")]
    private static partial void LogRetrainProgress(ILogger logger, string text);
}
