using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Ingest;

/// <summary>
/// The inbox scan and a relabel generation enqueueing at once (issue 16: 452 messages for 184 batches, 204 duplicated
/// boxes). Each pending image must be claimed by one of them, so it is in exactly one message, and workers taking those
/// messages in parallel write one set of boxes per (image, model). Repeated, because a race shows only sometimes.
/// </summary>
public abstract class EnqueueRaceContract
{
    /// <summary>Repetitions of the race; docs/benchmarks.md quotes this number and the result.</summary>
    protected const int Repetitions = 50;

    private const int Images = 100;
    private const int BatchSize = 5;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected sealed record Backend(IBlobStore Blobs, ILabelStore Store, IWorkQueueFactory Queues, string QueueName);

    protected abstract Task<Backend> CreateBackendAsync();

    protected static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..16];

    [Fact]
    public async Task ScanAndRelabelAtOnce_SendEveryImageOnce_AndWorkersWriteNoDuplicateBox()
    {
        var b = await CreateBackendAsync();
        for (var i = 0; i < Images; i++)
        {
            await using var content = new MemoryStream(Encoding.UTF8.GetBytes($"image {i}"));
            await b.Blobs.WriteAsync($"inbox/pets/fox/{i:D3}.jpg", content, overwrite: true, Ct);
        }

        // Two scanners, as the scan job and the relabel job each resolve theirs (one per host in scale-out).
        var scan = Scanner(b);
        var relabel = Scanner(b);
        await scan.ScanAsync(Ct);
        await DrainAsync(b);
        var ids = (await b.Store.GetImageIdsByStatusAsync(ImageStatus.Queued, "pets", 0, 10_000, Ct)).ToList();
        Assert.Equal(Images, ids.Count);
        var fox = (await b.Store.EnsureClassesAsync(["fox"], Ct))["fox"];
        var v1 = await b.Store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('a', 64)), Ct);
        var v2 = await b.Store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);

        var sentTwice = 0;
        var duplicateBoxes = 0;
        var messages = 0;
        var lost = 0;
        for (var repetition = 0; repetition < Repetitions; repetition++)
        {
            // Every image labelled by v1 (half with a weak tag, which a relabel sends first): a relabel by v2 sends all back.
            await b.Store.WriteLabelsAsync(v1, [.. ids.Select((id, i) => new ImageLabels(id, [], [new(fox, i % 2 == 0 ? TagState.Weak : TagState.Grounded)]))], Ct);

            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var relabelling = Task.Run(async () =>
            {
                await start.Task;
                // What LabelingJobs.RelabelAsync and the Retrainer do after a promotion.
                await b.Store.MarkStaleForRelabelAsync(v2, null, Ct);
                return await relabel.EnqueuePendingAsync(null, weakTagsFirst: true, Ct);
            }, Ct);
            var scanning = Task.Run(async () =>
            {
                await start.Task;
                return (await scan.ScanAsync(Ct)).MessagesSent;
            }, Ct);
            start.SetResult();
            await Task.WhenAll(relabelling, scanning);

            var received = await DrainAsync(b);
            messages += received.Count;
            var perImage = received.SelectMany(m => m.ImageIds).CountBy(id => id).ToDictionary();
            sentTwice += perImage.Count(p => p.Value > 1);
            lost += ids.Count(id => !perImage.ContainsKey(id));

            // Workers: the messages in parallel, those naming the same images side by side, each writing what v2 "found".
            await Parallel.ForEachAsync(received.OrderBy(m => m.ImageIds.Min()), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct }, async (message, ct) =>
                await b.Store.WriteLabelsAsync(v2, [.. message.ImageIds.Select(id => new ImageLabels(id, [new BoxData(fox, 1, 2, 30, 40, 0.9f, BoxSource.Pseudo)], [new(fox, TagState.Grounded)]))], ct));
            var boxes = (await b.Store.QueryBoxesAsync(new BoxQuery { ModelVersion = "v2", Limit = 10_000 }, Ct)).Boxes;
            duplicateBoxes += boxes.Count - boxes.DistinctBy(x => (x.ImageId, x.ClassName, x.X1, x.Y1, x.X2, x.Y2)).Count();
        }

        var summary = $"Over {Repetitions} repetitions of scan + relabel of {Images} images at once: {messages} messages (at least {Repetitions * Images / BatchSize}: batches of {BatchSize}, a few split between the two), "
            + $"{sentTwice} image(s) sent twice, {duplicateBoxes} duplicate box(es), {lost} image(s) never sent.";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        Assert.True(sentTwice == 0 && duplicateBoxes == 0 && lost == 0, summary);
    }

    private static InboxScanner Scanner(Backend backend) =>
        new(backend.Blobs, backend.Store, backend.Queues,
            Options.Create(new IngestOptions { LabelQueue = backend.QueueName, LabelBatchSize = BatchSize }), NullLogger<InboxScanner>.Instance);

    private static async Task<List<LabelMessage>> DrainAsync(Backend backend)
    {
        var queue = backend.Queues.GetQueue(backend.QueueName);
        var messages = new List<LabelMessage>();
        while (await queue.ReceiveAsync(QueueLimits.MaxReceiveCount, TimeSpan.FromMinutes(5), Ct) is { Count: > 0 } received)
        {
            foreach (var message in received)
            {
                messages.Add(LabelMessage.Parse(message.Body));
                await queue.DeleteAsync(message, Ct);
            }
        }

        return messages;
    }
}

/// <summary>The race on the scale-out stack: PostgreSQL and Azure queues (Azurite), where it was seen.</summary>
public sealed class ScaleOutEnqueueRaceTests(AzuriteFixture azurite, PostgresFixture postgres) : EnqueueRaceContract, IAsyncDisposable
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

/// <summary>The race on the embedded stack: SQLite labels and the SQLite queue table.</summary>
public sealed class EmbeddedEnqueueRaceTests : EnqueueRaceContract, IAsyncDisposable
{
    private readonly TempFolder _folder = new();
    private LabelsDatabase? _database;

    protected override async Task<Backend> CreateBackendAsync()
    {
        _database = _folder.CreateMigratedSqlite("labels.db");
        var blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions
        {
            RootPath = Path.Combine(_folder.Path, "blobs"),
            Container = UniqueName("c"),
            FlushToDisk = false,
        }));
        await blobs.CreateIfNotExistsAsync(Ct);
        var queues = new SqliteWorkQueueFactory(_database, Options.Create(new WorkQueueOptions()), TimeProvider.System);
        return new Backend(blobs, new SqliteLabelStore(_database), queues, "label");
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _folder.Dispose();
    }
}
