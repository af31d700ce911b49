using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Ingest;

/// <summary>The inbox scan on the embedded stack: a local blob folder, SQLite labels and the SQLite queue table.</summary>
public sealed class EmbeddedInboxScannerTests : InboxScannerContract, IAsyncDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<LabelsDatabase> _databases = [];

    protected override async Task<Backend> CreateBackendAsync()
    {
        var database = _folder.CreateMigratedSqlite($"labels-{_databases.Count}.db");
        _databases.Add(database);
        var blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions
        {
            RootPath = Path.Combine(_folder.Path, "blobs"),
            Container = UniqueName("c"),
            FlushToDisk = false,
        }));
        await blobs.CreateIfNotExistsAsync(Ct);
        var queues = new SqliteWorkQueueFactory(database, Options.Create(new WorkQueueOptions()), TimeProvider.System);
        return new Backend(blobs, new SqliteLabelStore(database), queues, "label");
    }

    [Fact]
    public async Task ManyTinyBlobs_AreScannedInBatches_AndAllEndUpQueued()
    {
        var b = await CreateBackendAsync();
        const int count = 5000;
        for (var i = 0; i < count; i++)
        {
            await PutAsync(b.Blobs, $"inbox/bulk/c{i % 10}/{i:D5}.jpg", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var scanner = CreateScanner(b, o =>
        {
            o.ListPageSize = 1000;
            o.RegisterBatchSize = 500;
            o.LabelBatchSize = 32;
        });

        var report = await scanner.ScanAsync(Ct);

        Assert.Equal(count, report.BlobsListed);
        Assert.Equal(count, report.ImagesCreated);
        Assert.Equal(count, report.TagsAdded);
        Assert.Empty(report.Problems);
        Assert.Equal((count + 31) / 32, report.MessagesSent);
        var progress = Assert.Single(await b.Store.GetProgressAsync("bulk", Ct));
        Assert.Equal((count, 0L, (long)count), (progress.Images, progress.Pending, progress.Queued));
        var ids = (await DrainAsync(b)).SelectMany(m => m.ImageIds).ToList();
        Assert.Equal(count, ids.Distinct().Count());
        Assert.Equal(count, ids.Count);
    }

    [Fact]
    public async Task BlobWithoutAStoredMd5_IsHashedFromItsBytes_WithSha256()
    {
        var b = await CreateBackendAsync();
        await PutAsync(b.Blobs, "inbox/nomd5/a.jpg", "bytes");
        await PutAsync(b.Blobs, "inbox/nomd5/b.jpg", "bytes");

        var report = await CreateScanner(b, blobs: new WithoutMd5(b.Blobs)).ScanAsync(Ct);

        Assert.Equal(1, report.ImagesCreated);
        Assert.Equal(1, report.Duplicates);
        var image = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/nomd5/a.jpg")], Ct));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("bytes"u8)), image.ContentHash);
    }

    [Fact]
    public async Task OptionsOutOfRange_AreRefusedAtConstruction()
    {
        var b = await CreateBackendAsync();

        Assert.Throws<ArgumentException>(() => CreateScanner(b, o => o.Prefix = "inbox"));
        Assert.Throws<ArgumentOutOfRangeException>(() => CreateScanner(b, o => o.LabelBatchSize = LabelMessage.MaxImages + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CreateScanner(b, o => o.RegisterBatchSize = 0));
        Assert.NotNull(CreateScanner(b, o => o.LabelBatchSize = LabelMessage.MaxImages));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        _folder.Dispose();
    }

    /// <summary>The real local store with MD5s hidden, as Azure reports block blobs uploaded without Content-MD5.</summary>
    private sealed class WithoutMd5(IBlobStore inner) : IBlobStore
    {
        public string Container => inner.Container;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var item in inner.ListAsync(prefix, startAfter, pageSize, cancellationToken))
            {
                yield return item with { ContentMd5 = null };
            }
        }

        public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken) => inner.OpenReadAsync(name, cancellationToken);

        public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) =>
            inner.WriteAsync(name, content, overwrite, cancellationToken);

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public async Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) =>
            await inner.GetPropertiesAsync(name, cancellationToken) is { } item ? item with { ContentMd5 = null } : null;
    }
}

/// <summary>The inbox scan on the scale-out stack: Azure blobs and queues (Azurite) and PostgreSQL.</summary>
public sealed class ScaleOutInboxScannerTests(AzuriteFixture azurite, PostgresFixture postgres) : InboxScannerContract, IAsyncDisposable
{
    private readonly List<LabelsDatabase> _databases = [];

    protected override async Task<Backend> CreateBackendAsync()
    {
        var database = await postgres.CreateMigratedDatabaseAsync();
        _databases.Add(database);
        var blobs = new AzureBlobStore(new BlobServiceClient(azurite.Server.ConnectionString).GetBlobContainerClient(UniqueName("c")));
        await blobs.CreateIfNotExistsAsync(Ct);
        var service = new QueueServiceClient(azurite.Server.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var queues = new AzureWorkQueueFactory(service, new WorkQueueOptions());
        return new Backend(blobs, new PostgresLabelStore(database), queues, UniqueName("label-"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }
}
