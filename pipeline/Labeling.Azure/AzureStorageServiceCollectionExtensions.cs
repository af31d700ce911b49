using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling;

/// <summary>DI registration of the Azure Storage backends: Blob Storage for <see cref="IBlobStore"/>, Storage Queues for <see cref="IWorkQueueFactory"/>.</summary>
public static class AzureStorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="IBlobStore"/> over the Azure Blob Storage container
    /// <see cref="AzureStorageOptions.BlobContainer"/> (unless one is registered already).
    /// The options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddLabelingAzureBlobs(this IServiceCollection services, Action<AzureStorageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptions(services, configure)
            .Validate(o => ContainerNameIsValid(o.BlobContainer),
                "AzureStorage:BlobContainer must follow Azure container naming rules.");
        services.TryAddSingleton<IBlobStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
            var service = Create(() => new BlobServiceClient(options.ConnectionString));
            return new AzureBlobStore(service.GetBlobContainerClient(options.BlobContainer));
        });
        return services;
    }

    /// <summary>
    /// Registers an <see cref="IWorkQueueFactory"/> over Azure Storage Queues (unless one is
    /// registered already), with <see cref="WorkQueueOptions"/>. The options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddLabelingAzureQueues(this IServiceCollection services, Action<AzureStorageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptions(services, configure);
        services.AddOptions<WorkQueueOptions>()
            .Validate(o => o.MaxDequeueCount >= 1, "WorkQueue:MaxDequeueCount must be at least 1.")
            .ValidateOnStart();
        services.TryAddSingleton<IWorkQueueFactory>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
            var service = Create(() => new QueueServiceClient(
                options.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None }));
            return new AzureWorkQueueFactory(
                service,
                sp.GetRequiredService<IOptions<WorkQueueOptions>>().Value,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILoggerFactory>());
        });
        return services;
    }

    private static OptionsBuilder<AzureStorageOptions> AddOptions(IServiceCollection services, Action<AzureStorageOptions>? configure)
    {
        var options = services.AddOptions<AzureStorageOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The messages name the setting, never its value: the connection string holds the account key.
        return options
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "AzureStorage:ConnectionString is required.")
            .Validate(o => string.IsNullOrWhiteSpace(o.ConnectionString) || IsValidConnectionString(o.ConnectionString),
                "AzureStorage:ConnectionString is not a valid Azure Storage connection string.")
            .ValidateOnStart();
    }

    private static bool ContainerNameIsValid(string? name)
    {
        try
        {
            ContainerName.Validate(name!);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsValidConnectionString(string connectionString)
    {
        try
        {
            _ = new BlobServiceClient(connectionString);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static T Create<T>(Func<T> create)
    {
        try
        {
            return create();
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // Not wrapped: the parser's message may quote the connection string.
            throw new InvalidOperationException(
                $"AzureStorage:ConnectionString is not a valid Azure Storage connection string ({e.GetType().Name}).");
        }
    }
}
