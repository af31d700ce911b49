using Hangfire;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// At start, queues the bootstrap demo (<see cref="DemoJob"/>) once when the store is fresh: no
/// dataset, no model, nothing in the inbox, and no demo job already queued or running in Hangfire's
/// storage. The demo fills the store as it goes, so a later start finds it not fresh and queues
/// nothing. Off with <c>Server:Demo:RunOnFreshStart</c> false.
/// </summary>
internal sealed partial class DemoOnFreshStart(
    IBackgroundJobClient jobs, JobStorage storage, ILabelStore store, IBlobStore blobs, IOptions<IngestOptions> ingest,
    IOptions<ServerOptions> options, ILogger<DemoOnFreshStart> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Demo.RunOnFreshStart)
        {
            return;
        }

        if (await WhyNotFreshAsync(cancellationToken) is { } reason)
        {
            LogNotFresh(logger, reason);
            return;
        }

        var id = jobs.Enqueue<DemoJob>(DemoJob.QueueName, j => j.RunAsync(CancellationToken.None));
        LogQueued(logger, id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<string?> WhyNotFreshAsync(CancellationToken cancellationToken)
    {
        if ((await store.GetProgressAsync(null, cancellationToken)).Count > 0)
        {
            return "it has datasets";
        }

        if ((await store.ListModelsAsync(cancellationToken)).Count > 0)
        {
            return "it has models";
        }

        await foreach (var _ in blobs.ListAsync(ingest.Value.Prefix, null, 1, cancellationToken))
        {
            return $"'{ingest.Value.Prefix}' holds files";
        }

        // Jobs outlive the host on PostgreSQL: one queued by an earlier start may not have begun.
        return DemoRuns.AnyDemoJobQueuedOrRunning(storage) ? "a demo job is queued already" : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fresh store: the bootstrap demo is queued as job {JobId}; watch it on /hangfire and /review.")]
    private static partial void LogQueued(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "No bootstrap demo at start: the store is not fresh ({Reason}).")]
    private static partial void LogNotFresh(ILogger logger, string reason);
}
