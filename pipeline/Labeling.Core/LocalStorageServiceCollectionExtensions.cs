using Labeling.Blobs;
using Labeling.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Labeling;

/// <summary>DI registration of the embedded blob store.</summary>
public static class LocalStorageServiceCollectionExtensions
{
    /// <summary>Registers the local-folder <see cref="IBlobStore"/> (unless one is registered already).</summary>
    public static IServiceCollection AddLabelingLocalBlobs(this IServiceCollection services, Action<LocalBlobStoreOptions>? configure = null)
    {
        var options = services.AddOptions<LocalBlobStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => !string.IsNullOrWhiteSpace(o.RootPath), "LocalBlobStore:RootPath is required.")
            .Validate(o => ContainerNameIsValid(o.Container), "LocalBlobStore:Container must follow Azure container naming rules.")
            .ValidateOnStart();
        services.TryAddSingleton<IBlobStore, LocalFolderBlobStore>();
        services.AddOptions<WorkQueueOptions>();
        return services;
    }

    internal static bool ContainerNameIsValid(string name)
    {
        try
        {
            ContainerName.Validate(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
