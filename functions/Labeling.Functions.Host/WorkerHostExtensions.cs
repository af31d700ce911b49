using Labeling.Functions.Batches;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Labeling.Functions.Host;

/// <summary>Registrations of the worker host: backends chosen by configuration, the handlers, health and counters.</summary>
public static class WorkerHostExtensions
{
    /// <summary>
    /// Wires the worker from configuration only: <c>Storage:Mode</c> <c>Embedded</c> (local folder,
    /// SQLite queue table, SQLite) or <c>Azure</c> (Azure Blob Storage and Queues, with the database
    /// of <c>Database</c>, usually PostgreSQL); the migrations run at start.
    /// </summary>
    public static WebApplicationBuilder AddLabelingWorker(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddLabelingBackends(configuration);
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.Section));
        services.AddLabelingFunctions(configuration);
        services.AddMetrics();
        services.AddHostedService<MigrateOnStart>();
        services.AddHostedService<LabelWorkerService>();
        services.AddHostedService<ScanService>();
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<QueueHealthCheck>("queue", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// <c>/healthz</c> (liveness: the process answers), <c>/readyz</c> (the database and the queue
    /// answer) and <c>/stats</c> (counters as JSON).
    /// </summary>
    public static WebApplication MapLabelingWorkerEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapGet("/stats", (LabelWorkerMetrics metrics) => Results.Json(metrics.Snapshot()));
        return app;
    }

    private sealed class MigrateOnStart(LabelsDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.Run(database.Migrate, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class DatabaseHealthCheck(ILabelStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var active = await store.GetActiveModelAsync(cancellationToken);
                return HealthCheckResult.Healthy(active is null ? "no active model" : $"active model {active.Version}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("The labels database does not answer.", e);
            }
        }
    }

    private sealed class QueueHealthCheck(IWorkQueueFactory queues, Microsoft.Extensions.Options.IOptions<Ingest.IngestOptions> options) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var depth = await queues.GetQueue(options.Value.LabelQueue).GetApproximateCountAsync(cancellationToken);
                return HealthCheckResult.Healthy($"{depth} message(s) queued");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("The label queue does not answer.", e);
            }
        }
    }
}
