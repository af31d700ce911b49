using Hangfire;
using Labeling.Functions.Failures;
using Microsoft.Extensions.Logging;

namespace Labeling.Server;

/// <summary>
/// The jobs the dashboard's Failures page queues. Thin: each calls <see cref="FailureRecovery"/> (the one owner of
/// the rules) and is audited: who asked is an argument, so the job's name in the dashboard's history says who asked
/// for what, and the returned text (its result) says what happened; the same line goes to the log.
/// </summary>
public sealed partial class FailureJobs(FailureRecovery recovery, ILogger<FailureJobs> logger)
{
    /// <summary>How many dead letters one replay job sends back at most.</summary>
    internal const int MaxReplay = 10_000;

    /// <summary>Failed images of <paramref name="dataset"/> and/or <paramref name="reason"/> (null: all) back to the queue.</summary>
    [JobDisplayName("Retry failed images (dataset: {0}; reason: {1}), asked by {2}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> RetryAsync(string? dataset, string? reason, string requestedBy, CancellationToken cancellationToken)
    {
        var result = await recovery.RetryAsync(dataset, reason, cancellationToken);
        var text = $"{requestedBy} retried the failed images of {dataset ?? "every dataset"} with reason {reason ?? "any"}: "
            + $"{result.Images} image(s) back to pending, {result.Batches} batch(es) queued.";
        LogAudit(logger, text);
        return text;
    }

    /// <summary>The dead letters of label queue <paramref name="queue"/> (null: every label queue) back to their queue.</summary>
    [JobDisplayName("Replay dead letters (queue: {0}), asked by {1}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> ReplayAsync(string? queue, string requestedBy, CancellationToken cancellationToken)
    {
        var result = await recovery.ReplayAsync(queue, MaxReplay, cancellationToken);
        var text = $"{requestedBy} replayed the dead letters of {queue ?? "every label queue"}: {result.Messages} message(s) sent back, "
            + $"{result.Images} image(s) back to queued" + (result.Skipped > 0 ? $", {result.Skipped} unreadable message(s) left in place." : ".");
        LogAudit(logger, text);
        return text;
    }

    [LoggerMessage(EventId = 5300, Level = LogLevel.Information, Message = "Audit: {Text}")]
    private static partial void LogAudit(ILogger logger, string text);
}
