using Hangfire;
using Labeling.Bootstrap;
using Labeling.Labels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// At start, resumes the retraining runs a killed host left behind: a run still marked running whose process on this
/// machine is gone (or whose heartbeat is stale) is claimed and queued again as a <see cref="LabelingJobs.ResumeRetrainAsync"/>
/// job, which continues from the run's last checkpoint. Needed because the in-memory job storage forgets the job with
/// the process; on PostgreSQL, where Hangfire would re-queue it only after its invisibility timeout, it is sooner.
/// The scan-inbox job repeats the check for hosts on other machines.
/// </summary>
internal sealed class ResumeInterruptedTraining(
    ILabelStore store, IBackgroundJobClient jobs, JobStorage storage, IOptions<RetrainingOptions> options, ILogger<ResumeInterruptedTraining> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken) =>
        await LabelingJobs.ResumeOrphanedRunsAsync(store, jobs, storage, options.Value, logger, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
