using Labeling.Labels;
using Labeling.Queues;
using Labeling.Schema;
using Labeling.Sql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Labeling;

/// <summary>DI registration of the labels database and the embedded SQL work queue.</summary>
public static class SqlServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LabelsDatabase"/> and the <see cref="ILabelStore"/> of the configured
    /// provider (SQLite by default, PostgreSQL when <see cref="DatabaseOptions.Provider"/> says so).
    /// </summary>
    public static IServiceCollection AddLabelingDatabase(this IServiceCollection services, Action<DatabaseOptions>? configure = null)
    {
        var options = services.AddOptions<DatabaseOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "Database:ConnectionString is required.")
            .Validate(o => Enum.IsDefined(o.Provider), "Database:Provider must be Sqlite or Postgres.")
            .ValidateOnStart();
        services.TryAddSingleton(sp => LabelsDatabase.Create(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value));
        services.TryAddSingleton<ILabelStore>(sp =>
        {
            var database = sp.GetRequiredService<LabelsDatabase>();
            return database.Provider == DatabaseProvider.Postgres ? new PostgresLabelStore(database) : new SqliteLabelStore(database);
        });
        return services;
    }

    /// <summary>Registers the embedded <see cref="IWorkQueueFactory"/>: queues in the SQLite labels database.</summary>
    public static IServiceCollection AddLabelingSqliteQueues(this IServiceCollection services, Action<WorkQueueOptions>? configure = null)
    {
        var options = services.AddOptions<WorkQueueOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.MaxDequeueCount >= 1, "Queues:MaxDequeueCount must be at least 1.").ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IWorkQueueFactory>(sp =>
        {
            var database = sp.GetRequiredService<LabelsDatabase>();
            if (database.Provider != DatabaseProvider.Sqlite)
            {
                throw new InvalidOperationException("The embedded queue lives in the SQLite database; with PostgreSQL use Azure Storage Queues.");
            }

            return new SqliteWorkQueueFactory(database, sp.GetRequiredService<IOptions<WorkQueueOptions>>(), sp.GetRequiredService<TimeProvider>());
        });
        return services;
    }
}
