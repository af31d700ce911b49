namespace Labeling;

/// <summary>Options of the Azure Storage backends (Blob Storage for blobs, Storage Queues for work queues).</summary>
public sealed class AzureStorageOptions
{
    /// <summary>Configuration section these options are usually bound from.</summary>
    public const string SectionName = "AzureStorage";

    /// <summary>Storage account connection string (a secret: never logged). Required.</summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Blob container that holds every blob. Default <c>labeling</c>.</summary>
    public string BlobContainer { get; set; } = "labeling";

    /// <inheritdoc/>
    public override string ToString() => $"AzureStorageOptions {{ BlobContainer = {BlobContainer}, ConnectionString = *** }}";
}
