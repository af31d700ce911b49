using Azure.Storage.Blobs;
using Labeling.Blobs;

namespace Labeling.Integration.Tests.Blobs;

/// <summary>The blob store contract on Azure Blob Storage (a real Azurite server).</summary>
public sealed class AzureBlobStoreTests(AzuriteFixture azurite) : BlobStoreContract
{
    protected override async Task<IBlobStore> CreateStoreAsync()
    {
        var store = new AzureBlobStore(new BlobServiceClient(azurite.Server.ConnectionString).GetBlobContainerClient(UniqueContainer()));
        await store.CreateIfNotExistsAsync(Ct);
        return store;
    }
}
