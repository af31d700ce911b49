namespace Labeling.Blobs;

/// <summary>
/// One blob container (a local folder or an Azure Blob Storage container). Names are
/// <c>/</c>-separated paths such as <c>inbox/pets/fox/001.jpg</c>, validated by
/// <see cref="BlobName.Validate"/> in every implementation so both accept the same names.
/// </summary>
public interface IBlobStore
{
    /// <summary>The container name (Azure container rules: 3–63 lower-case letters, digits, hyphens).</summary>
    string Container { get; }

    /// <summary>Creates the container if it does not exist yet.</summary>
    Task CreateIfNotExistsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Lists blobs whose names start with <paramref name="prefix"/>, in ordinal (UTF-8 byte) order,
    /// strictly after <paramref name="startAfter"/> when given (a scan checkpoint), fetching
    /// <paramref name="pageSize"/> names per round trip. Streams: memory stays flat for any number of blobs.
    /// </summary>
    IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken);

    /// <summary>Opens a blob for reading. Throws <see cref="BlobNotFoundException"/> when it does not exist.</summary>
    Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a blob from <paramref name="content"/>; readers never see a half-written blob.
    /// Throws <see cref="BlobAlreadyExistsException"/> when it exists and <paramref name="overwrite"/> is false.
    /// </summary>
    Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken);

    /// <summary>Deletes a blob; returns false when there was nothing to delete.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    /// <summary>Properties of one blob, or null when it does not exist.</summary>
    Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken);
}

/// <summary>A blob and its properties.</summary>
/// <param name="Name">Full name inside the container.</param>
/// <param name="Size">Length in bytes.</param>
/// <param name="ContentMd5">Lower-case hex MD5 of the content when the store knows it (always for blobs written through <see cref="IBlobStore.WriteAsync"/> and returned by GetProperties).</param>
/// <param name="ETag">Changes whenever the content changes.</param>
/// <param name="LastModified">Last write time (UTC).</param>
public sealed record BlobItem(string Name, long Size, string? ContentMd5, string ETag, DateTimeOffset LastModified);
