using Labeling.Functions.Batches;

namespace Labeling.Functions.Host;

/// <summary>Runs the <see cref="LabelWorker"/> loop for the lifetime of the host.</summary>
internal sealed class LabelWorkerService(LabelWorker worker) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => worker.RunAsync(stoppingToken);
}
