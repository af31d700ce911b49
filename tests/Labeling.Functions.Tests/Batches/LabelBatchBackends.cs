using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Batches;

/// <summary>The label-batch tests on the embedded stack: local folder blobs, SQLite labels and SQLite queue.</summary>
public sealed class EmbeddedLabelBatchTests : LabelBatchHandlerContract
{
    protected override async Task<LabelBatchBackend> CreateBackendAsync(int maxDequeueCount)
    {
        var database = Folder.CreateMigratedSqlite($"labels-{Guid.NewGuid():N}.db");
        Track(database);
        var blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions
        {
            RootPath = Path.Combine(Folder.Path, "blobs"),
            Container = UniqueName("c"),
            FlushToDisk = false,
        }));
        await blobs.CreateIfNotExistsAsync(Ct);
        var queues = new SqliteWorkQueueFactory(database, Options.Create(new WorkQueueOptions { MaxDequeueCount = maxDequeueCount }), TimeProvider.System);
        return new LabelBatchBackend(new SqliteLabelStore(database), blobs, queues);
    }
}

/// <summary>The label-batch tests on the scale-out stack: Azure Blob Storage and Queues (Azurite) and PostgreSQL.</summary>
public sealed class AzurePostgresLabelBatchTests(PostgresFixture postgres, AzuriteFixture azurite) : LabelBatchHandlerContract
{
    protected override async Task<LabelBatchBackend> CreateBackendAsync(int maxDequeueCount)
    {
        var database = await postgres.CreateMigratedDatabaseAsync();
        Track(database);
        var blobs = new AzureBlobStore(new BlobServiceClient(azurite.Server.ConnectionString).GetBlobContainerClient(UniqueName("c")));
        await blobs.CreateIfNotExistsAsync(Ct);
        var service = new QueueServiceClient(azurite.Server.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var queues = new AzureWorkQueueFactory(service, new WorkQueueOptions { MaxDequeueCount = maxDequeueCount });
        return new LabelBatchBackend(new PostgresLabelStore(database), blobs, queues);
    }
}

/// <summary>The ports one test runs against.</summary>
public sealed record LabelBatchBackend(ILabelStore Store, IBlobStore Blobs, IWorkQueueFactory Queues);
