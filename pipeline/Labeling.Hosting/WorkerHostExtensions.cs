using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Labeling.Functions.Batches;
using Labeling.Hosting.Access;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Labeling.Hosting;

/// <summary>Registrations of the worker host: backends chosen by configuration, the handlers, health and counters.</summary>
public static class WorkerHostExtensions
{
    /// <summary>
    /// Wires the worker from configuration only: <c>Storage:Mode</c> <c>Embedded</c> (local folder,
    /// SQLite queue table, SQLite) or <c>Azure</c> (Azure Blob Storage and Queues, with the database
    /// of <c>Database</c>, usually PostgreSQL); the migrations run at start. Runs the label loop and,
    /// when <c>Worker:ScanInterval</c> is set, the inbox scan.
    /// </summary>
    public static WebApplicationBuilder AddLabelingWorker(this WebApplicationBuilder builder)
    {
        builder.AddLabelingServices();
        builder.Services.AddOptions<WorkerOptions>().Bind(builder.Configuration.GetSection(WorkerOptions.Section));
        builder.Services.AddHostedService<LabelWorkerService>();
        builder.Services.AddHostedService<ScanService>();
        return builder;
    }

    /// <summary>
    /// What every host needs without running the label loop: the backends from configuration, the
    /// handlers (inbox scanner, label batch handler), counters, migrations at start, the
    /// readiness checks of the database and the label queue, and the access gate (<c>Server:Access</c>).
    /// </summary>
    public static WebApplicationBuilder AddLabelingServices(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddLabelingBackends(configuration);
        services.AddLabelingFunctions(configuration);
        services.AddMetrics();
        services.AddLabelingAccess();
        services.AddHostedService<MigrateOnStart>();
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<QueueHealthCheck>("queue", tags: ["ready"])
            .AddCheck<ModelHealthCheck>("model", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// The access gate, then <c>/healthz</c> (liveness: the process answers), <c>/readyz</c> (the database and the
    /// queue answer), both open, and <c>/stats</c> (counters as JSON), behind the gate like every page a host maps after it.
    /// </summary>
    public static WebApplication MapLabelingWorkerEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseLabelingAccess();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapGet("/stats", (LabelWorkerMetrics metrics, IActiveDetector detectors) => Results.Json(metrics.Snapshot(detectors.State)));
        return app;
    }

    private sealed class MigrateOnStart(LabelsDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.Run(database.Migrate, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// Degraded (still ready: the process answers and keeps what it has) when this process's label workers wait on a
    /// state of the system (<see cref="LabelReadiness"/>: no model, an unusable model, an outage), or when the active
    /// model could not be loaded and an older one serves instead, so that probes and dashboards of scale-out workers show it.
    /// </summary>
    private sealed class ModelHealthCheck(IActiveDetector detectors, LabelReadiness readiness) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var state = detectors.State;
            var gate = readiness.State;
            return Task.FromResult(gate.Reason is not null
                ? HealthCheckResult.Degraded($"labelling waits since {gate.Since:u}: {gate.Detail}")
                : state.LoadFailure is { } failed
                    ? HealthCheckResult.Degraded($"active model {failed.Version} could not be loaded ({failed.Reason}); labelling with {state.InUse}")
                    : HealthCheckResult.Healthy(state.InUse is null ? "no batch yet" : $"labelling with {state.InUse}"));
        }
    }

    /// <summary>Degraded when no model is active: nothing can be labelled until one is (in any host, with or without workers).</summary>
    private sealed class DatabaseHealthCheck(ILabelStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var active = await store.GetActiveModelAsync(cancellationToken);
                return active is null
                    ? HealthCheckResult.Degraded("no active model: nothing is labelled until one is activated (`labeling models add FILE --version V --activate`)")
                    : HealthCheckResult.Healthy($"active model {active.Version}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("The labels database does not answer.", e);
            }
        }
    }

    /// <summary>Degraded when messages were dead-lettered: work that waits for someone to look (`labeling deadletters`).</summary>
    private sealed class QueueHealthCheck(Labeling.Functions.Ingest.LabelQueues queues) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var (depth, poison) = await queues.CountAsync(cancellationToken);
                return poison > 0
                    ? HealthCheckResult.Degraded($"{depth} message(s) queued; {poison} dead-lettered (`labeling deadletters`)")
                    : HealthCheckResult.Healthy($"{depth} message(s) queued");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("The label queue does not answer.", e);
            }
        }
    }
}
