using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// Registers the recurring jobs with their cron at every start (the in-memory storage forgets
/// them; on PostgreSQL this updates changed schedules). An empty or <c>never</c> schedule removes
/// the job. A bad cron expression stops the start with the setting's name.
/// </summary>
internal sealed class RecurringJobsSetup(IRecurringJobManager jobs, IOptions<ServerOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var schedules = options.Value.Jobs;
        Register(LabelingJobs.ScanInboxId, nameof(JobSchedules.ScanInbox), schedules.ScanInbox,
            id => jobs.AddOrUpdate<LabelingJobs>(id, j => j.ScanInboxAsync(CancellationToken.None), Cron(schedules.ScanInbox), Utc));
        Register(LabelingJobs.RetrainId, nameof(JobSchedules.Retrain), schedules.Retrain,
            id => jobs.AddOrUpdate<LabelingJobs>(id, "training", j => j.RetrainAsync(null, CancellationToken.None), Cron(schedules.Retrain), Utc));
        Register(LabelingJobs.RelabelId, nameof(JobSchedules.Relabel), schedules.Relabel,
            id => jobs.AddOrUpdate<LabelingJobs>(id, j => j.RelabelAsync(null, CancellationToken.None), Cron(schedules.Relabel), Utc));
        // Manual actions: never scheduled, listed on the dashboard's recurring-jobs page for "Trigger now".
        jobs.AddOrUpdate<LabelingJobs>(LabelingJobs.RollbackId, j => j.RollbackAsync(CancellationToken.None), Hangfire.Cron.Never(), Utc);
        jobs.AddOrUpdate<LabelingJobs>(LabelingJobs.PromoteId, j => j.PromoteNewestCandidateAsync(CancellationToken.None), Hangfire.Cron.Never(), Utc);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static RecurringJobOptions Utc => new() { TimeZone = TimeZoneInfo.Utc };

    private static string Cron(string text) => text.Trim();

    private void Register(string id, string setting, string cron, Action<string> addOrUpdate)
    {
        if (string.IsNullOrWhiteSpace(cron) || string.Equals(cron.Trim(), "never", StringComparison.OrdinalIgnoreCase))
        {
            jobs.RemoveIfExists(id);
            return;
        }

        try
        {
            addOrUpdate(id);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{ServerOptions.Section}:Jobs:{setting} '{cron}' is not a cron expression: {e.Message}", e);
        }
    }
}
