using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Labeling.Functions.Batches;

namespace Labeling.Hosting;

/// <summary>
/// Runs the <see cref="LabelWorker"/> loop for the lifetime of the host, from the moment the host has
/// started: hosted services start before Kestrel binds, so a host whose port is in use would
/// otherwise say its worker started (and take a batch) before it fails.
/// </summary>
internal sealed class LabelWorkerService(LabelWorker worker, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }

        await worker.RunAsync(stoppingToken);
    }
}
