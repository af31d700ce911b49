using Labeling.Queues;
using Labeling.Sql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling;

/// <summary>The one place that turns configuration into backends, for every host.</summary>
public static class BackendServiceCollectionExtensions
{
    /// <summary>The configuration key that picks the backends.</summary>
    public const string StorageModeKey = "Storage:Mode";

    /// <summary>
    /// Registers the labels database (section <c>Database</c>) and, by <c>Storage:Mode</c>, either the
    /// embedded blobs and queue (<c>Embedded</c>, the default: sections <c>LocalBlobStore</c> and
    /// <c>Queues</c>) or Azure Blob Storage and Queues (<c>Azure</c>: section <c>AzureStorage</c>).
    /// Throws <see cref="InvalidOperationException"/> for any other mode.
    /// </summary>
    public static IServiceCollection AddLabelingBackends(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var mode = configuration[StorageModeKey] ?? "Embedded";
        services.AddLabelingDatabase(o => configuration.GetSection(DatabaseOptions.Section).Bind(o));
        if (string.Equals(mode, "Azure", StringComparison.OrdinalIgnoreCase))
        {
            services.AddLabelingAzureBlobs(o => configuration.GetSection(AzureStorageOptions.SectionName).Bind(o));
            services.AddLabelingAzureQueues(o => configuration.GetSection(AzureStorageOptions.SectionName).Bind(o));
        }
        else if (string.Equals(mode, "Embedded", StringComparison.OrdinalIgnoreCase))
        {
            services.AddLabelingLocalBlobs(o => configuration.GetSection("LocalBlobStore").Bind(o));
            services.AddLabelingSqliteQueues(o => configuration.GetSection("Queues").Bind(o));
        }
        else
        {
            throw new InvalidOperationException($"{StorageModeKey} '{mode}' is not Embedded or Azure.");
        }

        services.Configure<WorkQueueOptions>(configuration.GetSection("Queues"));
        return services;
    }
}
