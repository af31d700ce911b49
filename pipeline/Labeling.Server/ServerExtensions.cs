using System.Text.Json.Serialization;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Labeling.Bootstrap;
using Labeling.Hosting;
using Labeling.Hosting.Access;
using Labeling.Schema;
using Labeling.Trainer.Model;
using Labeling.Sql;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>Registrations of the host (<c>labeling serve</c>): Hangfire, recurring jobs, access control, the API and the review page.</summary>
public static class ServerExtensions
{
    /// <summary>
    /// Adds everything the host runs, from configuration: the backends and handlers (and the label
    /// workers in embedded mode, see <see cref="ServerOptions.WorkersInProcess"/>), Hangfire with its
    /// storage, the recurring jobs, the access gate and the OpenAPI document.
    /// </summary>
    public static WebApplicationBuilder AddLabelingServer(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddOptions<ServerOptions>()
            .Bind(configuration.GetSection(ServerOptions.Section))
            .Validate(o => o.JobWorkers is >= 1 and <= 64, "Server:JobWorkers must be 1–64.")
            .Validate(o => o.JobQueues is null || o.JobQueues.Length > 0, "Server:JobQueues needs at least one queue.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServerOptions>, DemoSettingsValidation>());

        var options = configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        var workersInProcess = RunsWorkersInProcess(configuration, options);
        services.TryAddSingleton(new WorkersInProcess(workersInProcess));
        if (workersInProcess)
        {
            builder.AddLabelingWorker();
        }
        else
        {
            builder.AddLabelingServices();
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ProgressReader>();
        services.AddOptions<RetrainingOptions>().Bind(configuration.GetSection(RetrainingOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetrainingOptions>, RetrainingValidation>());
        services.TryAddScoped<Retrainer>();
        services.TryAddScoped<LabelingJobs>();
        services.TryAddScoped<FailureJobs>();
        services.TryAddScoped<DemoJob>();
        services.TryAddSingleton<DemoStatus>();
        services.TryAddSingleton<RetrainStatus>();
        // Hangfire's dashboard polls its counters with a POST: a read, which the read-only role may send.
        services.Configure<AccessPolicy>(p => p.ReadOnlyPosts.Add("/hangfire/stats"));
        services.AddOptions<ThumbnailOptions>().Bind(configuration.GetSection(ThumbnailOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ThumbnailOptions>, ThumbnailOptionsValidation>());
        services.TryAddSingleton<Thumbnails>();
        services.Configure<JsonOptions>(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        services.AddOpenApi();

        // This host's own storage instance, registered before AddHangfire so that Hangfire's
        // TryAdd keeps it: two hosts in one process (tests) then never share JobStorage.Current.
        services.TryAddSingleton<JobStorage>(sp =>
        {
            // Resolving Hangfire's configuration first points its process-wide log provider at this
            // host's logger factory: the storage's constructor logs, and an earlier host's factory
            // (tests start one host after another) may be disposed.
            sp.GetRequiredService<IGlobalConfiguration>();
            return CreateStorage(sp, sp.GetRequiredService<IOptions<ServerOptions>>().Value);
        });
        services.AddHangfire(config => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        services.AddHangfireServer((sp, server) =>
        {
            var o = sp.GetRequiredService<IOptions<ServerOptions>>().Value;
            server.WorkerCount = o.JobWorkers;
            server.Queues = o.JobQueues ?? [.. ServerOptions.DefaultJobQueues];
            server.ServerName = $"labeling-{Environment.MachineName}-{Environment.ProcessId}";
        });
        // With antiforgery registered, Hangfire's dashboard puts a token in every page and refuses a command
        // (trigger, delete, promote a model…) posted without it: loopback callers need no sign-in, so another
        // site open in the same browser could otherwise post them. The API has no form endpoints it would affect.
        services.AddAntiforgery();
        services.AddHostedService<RecurringJobsSetup>();
        services.AddHostedService<DemoOnFreshStart>();
        services.AddHostedService<ResumeInterruptedTraining>();
        DashboardTiles.RegisterOnce();
        return builder;
    }

    /// <summary>
    /// Maps the dashboard at <c>/hangfire</c>, the API at <c>/api</c>, the OpenAPI document at
    /// <c>/openapi/v1.json</c>, the review page at <c>/review</c> and the health probes, behind the access gate.
    /// </summary>
    public static WebApplication MapLabelingServer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The access gate first (it comes with the health probes and /stats), then every page.
        app.MapLabelingWorkerEndpoints();
        app.Use((context, next) =>
        {
            // Stored bytes and JSON are never to be sniffed into something a browser would run.
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        app.UseHangfireDashboard("/hangfire", new DashboardOptions
        {
            DashboardTitle = "Labeling jobs",
            AppPath = "/review",
            // The access gate above already decided; Hangfire's default local-only filter would
            // also refuse proxied and authenticated remote users.
            Authorization = [new PassedAccessGate()],
            // Below admin the dashboard hides its buttons; the gate refuses the commands themselves.
            IsReadOnlyFunc = context => AccessCaller.Of(context.GetHttpContext()) is not { Role: AccessRole.Admin },
            StatsPollingInterval = 2000,
        }, app.Services.GetRequiredService<JobStorage>());
        app.MapOpenApi();
        app.MapLabelingApi();
        app.MapReviewPage();
        app.MapGet("/", () => Results.Redirect("/hangfire")).ExcludeFromDescription();
        return app;
    }

    /// <summary>Whether this host runs the label workers: <see cref="ServerOptions.WorkersInProcess"/>, by default in embedded mode only.</summary>
    internal static bool RunsWorkersInProcess(IConfiguration configuration, ServerOptions options) =>
        options.WorkersInProcess
        ?? string.Equals(configuration[BackendServiceCollectionExtensions.StorageModeKey] ?? "Embedded", "Embedded", StringComparison.OrdinalIgnoreCase);

    private static JobStorage CreateStorage(IServiceProvider services, ServerOptions options)
    {
        var database = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var kind = options.HangfireStorage == HangfireStorageKind.Auto
            ? database.Provider == DatabaseProvider.Postgres ? HangfireStorageKind.Postgres : HangfireStorageKind.InMemory
            : options.HangfireStorage;
        if (kind == HangfireStorageKind.InMemory)
        {
            return new InMemoryStorage(new InMemoryStorageOptions { MaxExpirationTime = TimeSpan.FromDays(7) });
        }

        var connectionString = options.HangfireConnectionString ?? database.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Hangfire on PostgreSQL needs Server:HangfireConnectionString or Database:ConnectionString.");
        }

        var storageOptions = new PostgreSqlStorageOptions { SchemaName = options.HangfireSchema, PrepareSchemaIfNecessary = true };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions);
    }

    /// <summary>Bad demo settings stop the start like any other, naming <c>Server:Demo</c>.</summary>
    private sealed class DemoSettingsValidation : IValidateOptions<ServerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ServerOptions options)
        {
            try
            {
                var demo = options.Demo.ToDemoOptions(runWorker: false);
                demo.Validate();
                DetectorConfig.Preset(demo.Preset);
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"{ServerOptions.Section}:Demo: {e.Message}");
            }
        }
    }

    /// <summary>Bad retraining settings stop the start, naming the setting.</summary>
    private sealed class RetrainingValidation : IValidateOptions<RetrainingOptions>
    {
        public ValidateOptionsResult Validate(string? name, RetrainingOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"{RetrainingOptions.Section}: {e.Message}");
            }
        }
    }

    private sealed class PassedAccessGate : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => true;
    }
}
