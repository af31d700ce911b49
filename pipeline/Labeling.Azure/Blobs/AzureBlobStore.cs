using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Labeling.Blobs;

/// <summary>
/// <see cref="IBlobStore"/> over one Azure Blob Storage container. Names are validated exactly as
/// the local folder store validates them, so both backends accept the same names, and every blob
/// written here carries its MD5 (computed while uploading when the service does not report it).
/// </summary>
internal sealed class AzureBlobStore : IBlobStore
{
    // The service returns at most 5,000 names per listing call.
    private const int MaxPageSize = 5000;
    private readonly BlobContainerClient _container;

    public AzureBlobStore(BlobContainerClient container)
    {
        ArgumentNullException.ThrowIfNull(container);
        ContainerName.Validate(container.Name);
        _container = container;
    }

    public string Container => _container.Name;

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken) =>
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    public async IAsyncEnumerable<BlobItem> ListAsync(
        string prefix, string? startAfter, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        BlobName.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);

        var options = new GetBlobsOptions
        {
            Prefix = prefix.Length == 0 ? null : prefix,
            // StartFrom includes the named blob itself; it is skipped below.
            StartFrom = startAfter,
        };
        var pages = _container.GetBlobsAsync(options, cancellationToken)
            .AsPages(pageSizeHint: Math.Min(pageSize, MaxPageSize))
            .GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                Page<Azure.Storage.Blobs.Models.BlobItem> page;
                try
                {
                    if (!await pages.MoveNextAsync())
                    {
                        yield break;
                    }

                    page = pages.Current;
                }
                catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
                {
                    yield break; // as the local store: no container, no blobs
                }

                foreach (var blob in page.Values)
                {
                    // Also guards against a service that ignores StartFrom.
                    if (startAfter is not null && BlobName.CompareOrdinalUtf8(blob.Name, startAfter) <= 0)
                    {
                        continue;
                    }

                    var p = blob.Properties;
                    yield return new BlobItem(
                        blob.Name,
                        p.ContentLength ?? 0,
                        Hex(p.ContentHash),
                        Quoted(p.ETag),
                        (p.LastModified ?? p.CreatedOn ?? DateTimeOffset.UnixEpoch).ToUniversalTime());
                }
            }
        }
        finally
        {
            await pages.DisposeAsync();
        }
    }

    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        BlobName.Validate(name);
        try
        {
            // allowModifications: false pins the ETag, so an overwrite while reading fails the read
            // instead of mixing two versions.
            return await _container.GetBlobClient(name)
                .OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken);
        }
        catch (RequestFailedException e) when (IsNotFound(e))
        {
            throw new BlobNotFoundException(Container, name, e);
        }
    }

    public async Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken)
    {
        BlobName.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        var blob = _container.GetBlobClient(name);

        using var hashing = new Md5ReadStream(content);
        var options = new BlobUploadOptions
        {
            Conditions = overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All },
        };

        BlobContentInfo uploaded;
        try
        {
            uploaded = (await blob.UploadAsync(hashing, options, cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (!overwrite && IsAlreadyExists(e))
        {
            throw new BlobAlreadyExistsException(Container, name, e);
        }

        var md5 = hashing.GetHash();
        var etag = uploaded.ETag;
        var modified = uploaded.LastModified;
        if (uploaded.ContentHash is null || !uploaded.ContentHash.AsSpan().SequenceEqual(md5))
        {
            // Block uploads (large or unseekable content) leave the blob without Content-MD5: set it,
            // only on the version we wrote.
            try
            {
                var info = (await blob.SetHttpHeadersAsync(
                    new BlobHttpHeaders { ContentHash = md5 },
                    new BlobRequestConditions { IfMatch = etag },
                    cancellationToken)).Value;
                etag = info.ETag;
                modified = info.LastModified;
            }
            catch (RequestFailedException e) when (e.Status == 412 || IsNotFound(e))
            {
                // Overwritten or deleted meanwhile: our write happened and was superseded, as with any later write.
            }
        }

        return new BlobItem(name, hashing.BytesRead, Convert.ToHexStringLower(md5), Quoted(etag), modified.ToUniversalTime());
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        BlobName.Validate(name);
        try
        {
            return (await _container.GetBlobClient(name)
                .DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (IsNotFound(e))
        {
            return false; // no container
        }
    }

    public async Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken)
    {
        BlobName.Validate(name);
        try
        {
            var p = (await _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            return new BlobItem(name, p.ContentLength, Hex(p.ContentHash), Quoted(p.ETag), p.LastModified.ToUniversalTime());
        }
        catch (RequestFailedException e) when (IsNotFound(e))
        {
            return null;
        }
    }

    // HEAD responses carry no body, so the error code may be missing: any 404 is "not there"
    // (the blob, or the whole container).
    private static bool IsNotFound(RequestFailedException e) =>
        e.Status == 404 || e.ErrorCode == BlobErrorCode.BlobNotFound || e.ErrorCode == BlobErrorCode.ContainerNotFound;

    private static bool IsAlreadyExists(RequestFailedException e) =>
        e.Status is 409 or 412
        && (e.ErrorCode is null || e.ErrorCode == BlobErrorCode.BlobAlreadyExists || e.ErrorCode == BlobErrorCode.ConditionNotMet);

    private static string? Hex(byte[]? hash) => hash is { Length: > 0 } ? Convert.ToHexStringLower(hash) : null;

    // Listings return ETags bare and headers return them quoted; report one form.
    private static string Quoted(ETag? etag)
    {
        var s = etag?.ToString() ?? string.Empty;
        return s.StartsWith('"') ? s : $"\"{s}\"";
    }
}
