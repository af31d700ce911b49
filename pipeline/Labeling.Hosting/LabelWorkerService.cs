using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Labeling.Functions.Batches;

namespace Labeling.Hosting;

/// <summary>Runs the <see cref="LabelWorker"/> loop for the lifetime of the host.</summary>
internal sealed class LabelWorkerService(LabelWorker worker) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => worker.RunAsync(stoppingToken);
}
