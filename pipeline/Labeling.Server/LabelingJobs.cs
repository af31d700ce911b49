using Hangfire;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Microsoft.Extensions.Logging;

namespace Labeling.Server;

/// <summary>
/// The recurring jobs. Thin: each calls the component that does the work, takes ids (a dataset
/// name) rather than objects, is idempotent (the scan resumes from its checkpoint, relabel only
/// moves images the active model has not labelled) and states its retries. The returned text is
/// what the dashboard shows as the job's result.
/// </summary>
public sealed partial class LabelingJobs(InboxScanner scanner, ILabelStore store, ILogger<LabelingJobs> logger)
{
    public const string ScanInboxId = "scan-inbox";
    public const string RetrainId = "retrain";
    public const string RelabelId = "relabel";

    [JobDisplayName("Scan the inbox")]
    [AutomaticRetry(Attempts = 3, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    public async Task<string> ScanInboxAsync(CancellationToken cancellationToken)
    {
        var report = await scanner.ScanAsync(cancellationToken);
        var text = $"{report.BlobsListed} blob(s) listed, {report.ImagesCreated} new image(s), {report.TagsAdded} tag(s), "
            + $"{report.HumanBoxes} human box(es), {report.MessagesSent} batch(es) queued, {report.Problems.Count} problem(s)";
        if (report.Problems.Count > 0)
        {
            text += ": " + string.Join("; ", report.Problems.Take(20));
        }

        return text;
    }

    [JobDisplayName("Retrain the detector (placeholder until step 7)")]
    [AutomaticRetry(Attempts = 0)]
    [Queue("training")]
    public Task<string> RetrainAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        LogRetrainPlaceholder(logger);
        return Task.FromResult("Retraining is not built yet (step 7 of 7): nothing was trained and the active model is unchanged.");
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
        var batches = await scanner.EnqueuePendingAsync(dataset, cancellationToken);
        return $"{stale} image(s) not labelled by {active.Version} sent back; {batches} batch(es) queued.";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrain ran, but retraining arrives with step 7: nothing was trained.")]
    private static partial void LogRetrainPlaceholder(ILogger logger);
}
