using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Functions.Failures;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Failures;

/// <summary>Retry of failed images and replay of dead letters (<see cref="FailureRecovery"/>), run on each real backend stack.</summary>
public abstract class FailureRecoveryContract
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected sealed record Backend(IBlobStore Blobs, ILabelStore Store, IWorkQueueFactory Queues, string QueueName);

    /// <summary>A blob container, labels database and queue backend of this test's own.</summary>
    protected abstract Task<Backend> CreateBackendAsync();

    protected static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..16];

    private static FailureRecovery Recovery(Backend b)
    {
        var options = Options.Create(new IngestOptions { LabelQueue = b.QueueName });
        var scanner = new InboxScanner(b.Blobs, b.Store, b.Queues, options, NullLogger<InboxScanner>.Instance);
        return new FailureRecovery(b.Store, b.Queues, scanner, options, NullLogger<FailureRecovery>.Instance);
    }

    private static async Task<Dictionary<string, long>> RegisterAsync(Backend b, params string[] paths)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var group in paths.GroupBy(p => p[..p.IndexOf('/', StringComparison.Ordinal)]))
        {
            var dataset = await b.Store.EnsureDatasetAsync(group.Key, Ct);
            var registered = await b.Store.RegisterImagesAsync(dataset, group.Select(p => new NewImage($"inbox/{p}.jpg", "hash-" + p)).ToList(), Ct);
            foreach (var (path, image) in group.Zip(registered))
            {
                ids[path] = image.ImageId;
            }
        }

        return ids;
    }

    private static async Task<List<QueueMessage>> DrainAsync(IWorkQueue queue)
    {
        var messages = new List<QueueMessage>();
        while (true)
        {
            var received = await queue.ReceiveAsync(QueueLimits.MaxReceiveCount, TimeSpan.FromMinutes(5), Ct);
            if (received.Count == 0)
            {
                return messages;
            }

            foreach (var message in received)
            {
                messages.Add(message);
                await queue.DeleteAsync(message, Ct);
            }
        }
    }

    private static async Task<ImageRecord> ImageAsync(Backend b, long id) => Assert.Single(await b.Store.GetImagesAsync([id], Ct));

    [Fact]
    public async Task Retry_ByDatasetAndReason_SendsOnlyThoseImagesBackToTheQueue()
    {
        var b = await CreateBackendAsync();
        var ids = await RegisterAsync(b, "pets/0", "pets/1", "pets/2", "pets/3", "cars/0");
        await b.Store.SetStatusAsync(ids.Values.ToList(), ImageStatus.Queued, null, Ct);
        await b.Store.SetStatusAsync([ids["pets/0"], ids["pets/1"], ids["cars/0"]], ImageStatus.Failed, "missing-blob: gone", Ct);
        await b.Store.SetStatusAsync([ids["pets/2"]], ImageStatus.Failed, "truncated: short", Ct);
        await b.Store.SetStatusAsync([ids["pets/3"]], ImageStatus.Labelled, null, Ct);
        var recovery = Recovery(b);
        var queue = b.Queues.GetQueue(b.QueueName);

        var result = await recovery.RetryAsync("pets", "missing-blob", Ct);

        Assert.Equal(new RetryResult("pets", "missing-blob", 2, 1), result);
        var message = LabelMessage.Parse(Assert.Single(await DrainAsync(queue)).Body);
        Assert.Equal([ids["pets/0"], ids["pets/1"]], message.ImageIds);
        var retried = await ImageAsync(b, ids["pets/0"]);
        Assert.Equal((ImageStatus.Queued, null, 2), (retried.Status, retried.LastError, retried.Attempts));
        Assert.Equal(ImageStatus.Failed, (await ImageAsync(b, ids["pets/2"])).Status);
        Assert.Equal(ImageStatus.Failed, (await ImageAsync(b, ids["cars/0"])).Status);
        Assert.Equal(ImageStatus.Labelled, (await ImageAsync(b, ids["pets/3"])).Status);

        Assert.Equal(1, (await recovery.RetryAsync(null, "missing-blob", Ct)).Images);
        Assert.Equal([ids["cars/0"]], LabelMessage.Parse(Assert.Single(await DrainAsync(queue)).Body).ImageIds);
        Assert.Equal(new RetryResult(null, null, 1, 1), await recovery.RetryAsync(" ", null, Ct));
        Assert.Equal([ids["pets/2"]], LabelMessage.Parse(Assert.Single(await DrainAsync(queue)).Body).ImageIds);
        Assert.Equal(new RetryResult(null, null, 0, 0), await recovery.RetryAsync(null, null, Ct));
        Assert.Empty(await DrainAsync(queue));
        Assert.Empty(await recovery.GetGroupsAsync(null, null, 0, Ct));
    }

    [Fact]
    public async Task DeadLetters_ShowCountAndLastError_AndReplaySendsTheBodyBack_WithTheImagesItFailed()
    {
        var b = await CreateBackendAsync();
        var ids = await RegisterAsync(b, "pets/a", "pets/b", "pets/c");
        var recovery = Recovery(b);
        var queue = b.Queues.GetQueue(b.QueueName);
        await queue.CreateIfNotExistsAsync(Ct);
        var body = LabelMessage.Create([ids["pets/a"], ids["pets/b"], ids["pets/c"]]).ToJson();
        await b.Store.SetStatusAsync(ids.Values.ToList(), ImageStatus.Queued, null, Ct);
        await queue.SendAsync(body, null, Ct);
        // The last delivery fails as LabelBatchHandler gives up: one image had failed on its own, the rest carry the batch's error.
        var received = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromMinutes(5), Ct));
        await b.Store.SetStatusAsync([ids["pets/a"]], ImageStatus.Failed, "missing-blob: gone", Ct);
        await b.Store.SetStatusAsync([ids["pets/b"], ids["pets/c"]], ImageStatus.Failed, "IOException: disk on fire", Ct);
        await queue.DeadLetterAsync(received, "Failed on delivery 5 of 5: IOException: disk on fire", Ct);
        var low = b.Queues.GetQueue(recovery.LabelQueues[^1]);
        await low.CreateIfNotExistsAsync(Ct);
        await b.Queues.GetQueue(low.PoisonQueueName).SendAsync("not a poison message", null, Ct);

        var letters = (await recovery.GetDeadLettersAsync(QueueLimits.MaxReceiveCount, Ct)).ToDictionary(q => q.Queue);

        Assert.Equal([b.QueueName + "-high", b.QueueName, b.QueueName + "-low"], letters.Keys);
        Assert.Equal(0, letters[b.QueueName + "-high"].Count);
        var label = letters[b.QueueName];
        Assert.Equal((1, "Failed on delivery 5 of 5: IOException: disk on fire"), (label.Count, label.LastError));
        var letter = Assert.Single(label.Messages);
        Assert.Equal((received.MessageId, 3), (letter.OriginalMessageId, letter.Images));
        Assert.Equal(1, letters[b.QueueName + "-low"].Count);
        Assert.StartsWith("Not a poison message", Assert.Single(letters[b.QueueName + "-low"].Messages).Error, StringComparison.Ordinal);

        var replay = await recovery.ReplayAsync(null, 100, Ct);

        Assert.Equal(new ReplayResult(null, 1, 2, 1), replay);
        Assert.Equal(body, Assert.Single(await DrainAsync(queue)).Body);
        Assert.Equal(ImageStatus.Failed, (await ImageAsync(b, ids["pets/a"])).Status);
        Assert.All(new[] { ids["pets/b"], ids["pets/c"] }, id => Assert.Equal(ImageStatus.Queued, ImageAsync(b, id).GetAwaiter().GetResult().Status));
        Assert.Equal(0, await b.Queues.GetQueue(queue.PoisonQueueName).GetApproximateCountAsync(Ct));
        Assert.Equal(1, await b.Queues.GetQueue(low.PoisonQueueName).GetApproximateCountAsync(Ct));
        Assert.Equal(new ReplayResult(b.QueueName, 0, 0, 0), await recovery.ReplayAsync(b.QueueName, 100, Ct));
    }

    [Fact]
    public async Task Replay_OfAQueueThatIsNotALabelQueue_IsRefused()
    {
        var recovery = Recovery(await CreateBackendAsync());

        var error = await Assert.ThrowsAsync<ArgumentException>(() => recovery.ReplayAsync("other", 10, Ct));

        Assert.Contains("not a label queue", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Retry and replay on the embedded stack: a local blob folder, SQLite labels and the SQLite queue table.</summary>
public sealed class EmbeddedFailureRecoveryTests : FailureRecoveryContract, IAsyncDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<LabelsDatabase> _databases = [];

    protected override async Task<Backend> CreateBackendAsync()
    {
        var database = _folder.CreateMigratedSqlite($"labels-{_databases.Count}.db");
        _databases.Add(database);
        var blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions { RootPath = Path.Combine(_folder.Path, "blobs"), Container = UniqueName("c"), FlushToDisk = false }));
        await blobs.CreateIfNotExistsAsync(Ct);
        return new Backend(blobs, new SqliteLabelStore(database), new SqliteWorkQueueFactory(database, Options.Create(new WorkQueueOptions()), TimeProvider.System), "label");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        _folder.Dispose();
    }
}

/// <summary>Retry and replay on the scale-out stack: Azure blobs and queues (Azurite) and PostgreSQL.</summary>
public sealed class ScaleOutFailureRecoveryTests(AzuriteFixture azurite, PostgresFixture postgres) : FailureRecoveryContract, IAsyncDisposable
{
    private readonly List<LabelsDatabase> _databases = [];

    protected override async Task<Backend> CreateBackendAsync()
    {
        var database = await postgres.CreateMigratedDatabaseAsync();
        _databases.Add(database);
        var blobs = new AzureBlobStore(new BlobServiceClient(azurite.Server.ConnectionString).GetBlobContainerClient(UniqueName("c")));
        await blobs.CreateIfNotExistsAsync(Ct);
        var service = new QueueServiceClient(azurite.Server.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        return new Backend(blobs, new PostgresLabelStore(database), new AzureWorkQueueFactory(service, new WorkQueueOptions()), UniqueName("label-"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }
}
