using System.Net;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Schema;
using Labeling.Sql;
using Labeling.Testing;

namespace Labeling.Functions.Tests.Host;

/// <summary>
/// The real <c>labeling-worker</c> host as a child process on the scale-out stack (Azurite with disk
/// persistence, PostgreSQL), with each test's own servers so it can stop and restart them mid-run.
/// </summary>
[Collection(WorkerHostCollection.Name)]
public sealed class AzureWorkerHostTests(WorkerHostBuildFixture build) : IAsyncLifetime
{
    private const int Count = 120;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _folder = Directory.CreateTempSubdirectory("labeling-host-azure-").FullName;
    private readonly List<WorkerProcess> _workers = [];
    private PostgresServer? _postgres;
    private AzuriteServer? _azurite;
    private string _connectionString = "";

    private PostgresServer Postgres => _postgres!;

    private AzuriteServer Azurite => _azurite!;

    public async ValueTask InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync(durable: false, Ct);
        var azurite = AzuriteServer.StartAsync(inMemory: false, Ct);
        _postgres = await postgres;
        _azurite = await azurite;
        _connectionString = await Postgres.CreateDatabaseAsync("host", Ct);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private (PostgresLabelStore Store, IBlobStore Blobs, IWorkQueue Queue) Backends(bool migrate = true)
    {
        var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = _connectionString });
        if (migrate)
        {
            database.Migrate();
        }

        var blobs = new AzureBlobStore(new BlobServiceClient(Azurite.ConnectionString).GetBlobContainerClient("labeling"));
        var service = new QueueServiceClient(Azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var queues = new AzureWorkQueueFactory(service, new WorkQueueOptions { MaxDequeueCount = 10 });
        return (new PostgresLabelStore(database), blobs, queues.GetQueue("label"));
    }

    private WorkerProcess StartWorker(string name, params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage:Mode"] = "Azure",
            ["Database:Provider"] = "Postgres",
            ["Database:ConnectionString"] = _connectionString,
            ["AzureStorage:ConnectionString"] = Azurite.ConnectionString,
            ["AzureStorage:BlobContainer"] = "labeling",
            ["Queues:MaxDequeueCount"] = "10",
            ["Ingest:LabelQueue"] = "label",
            ["LabelBatch:ModelCacheFolder"] = Path.Combine(_folder, name, "models"),
            ["LabelBatch:ModelBatchSize"] = "1",
            ["LabelBatch:DownloadParallelism"] = "1",
            ["LabelBatch:DecodeParallelism"] = "1",
            ["LabelBatch:VisibilityTimeout"] = "00:00:05",
            ["LabelBatch:ReleaseBaseDelay"] = "00:00:01",
            ["LabelBatch:RetryBaseDelay"] = "00:00:00.100",
            ["LabelWorker:MinIdleDelay"] = "00:00:00.200",
            ["LabelWorker:MaxIdleDelay"] = "00:00:01",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var worker = WorkerProcess.Start(build.DllPath, Path.Combine(_folder, name), settings, name);
        _workers.Add(worker);
        return worker;
    }

    private string Outputs() => string.Join('\n', _workers.Select(w => w.Output())) + "\n---- azurite ----\n" + Azurite.OutputTail();

    private async Task<(PostgresLabelStore Store, IWorkQueue Queue, long ModelId, IReadOnlyList<long> Ids, WorkerProcess Worker)> StartLabellingAsync()
    {
        var (store, blobs, queue) = Backends();
        await blobs.CreateIfNotExistsAsync(Ct);
        var modelId = await HostScenario.RegisterModelAsync(store, blobs, _folder);
        var ids = await HostScenario.SeedOneMessageAsync(store, blobs, queue, Count);
        var worker = StartWorker("worker");
        await worker.WaitReadyAsync();
        await Poll.UntilAsync(async () => (await HostScenario.ProgressAsync(store)).Labelled >= 5,
            TimeSpan.FromSeconds(60), () => "the worker to label some images\n" + Outputs());
        return (store, queue, modelId, ids, worker);
    }

    private async Task AssertFinishesAsync(PostgresLabelStore store, IWorkQueue queue, long modelId, IReadOnlyList<long> ids)
    {
        await Poll.UntilAsync(async () => (await HostScenario.ProgressAsync(store)).Labelled == Count && await queue.GetApproximateCountAsync(Ct) == 0,
            TimeSpan.FromSeconds(90), () => $"the run to complete ({Safe(() => HostScenario.ProgressAsync(store).Result)})\n{Outputs()}");
        await HostScenario.AssertAllLabelledOnceAsync(store, ids, modelId);
        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
    }

    private static string Safe<T>(Func<T> get)
    {
        try
        {
            return $"{get()}";
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }

    [Fact]
    public async Task Host_StartedBeforeAnyModelIsActive_WaitsWithoutTakingWork_SaysWhy_ThenLabelsEverything()
    {
        var (store, blobs, queue) = Backends();
        await blobs.CreateIfNotExistsAsync(Ct);
        await HostScenario.RegisterModelAsync(store, blobs, _folder, activate: false);
        var ids = await HostScenario.SeedOneMessageAsync(store, blobs, queue, 5);
        var worker = StartWorker("worker", ("Queues:MaxDequeueCount", "2"), ("LabelWorker:StateRecheckDelay", "00:00:00.200"));
        var service = new QueueServiceClient(Azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

        await HostScenario.AssertWaitsForAModelAsync(
            worker, store, queue, ids,
            async () => (await service.GetQueueClient(queue.Name).PeekMessagesAsync(32, Ct)).Value.Select(m => m.DequeueCount).DefaultIfEmpty(0).Max(),
            async () => await queues().GetQueue(queue.PoisonQueueName).GetApproximateCountAsync(Ct));

        AzureWorkQueueFactory queues() => new(service, new WorkQueueOptions { MaxDequeueCount = 10 });
    }

    [Fact]
    public async Task Host_PostgresStoppedMidRun_CompletesWithNothingLost()
    {
        var (store, queue, modelId, ids, worker) = await StartLabellingAsync();

        var beforeStop = await HostScenario.ProgressAsync(store);
        await Postgres.StopAsync(Ct);
        Assert.True(beforeStop.Labelled < Count, $"The batch finished before PostgreSQL was stopped ({beforeStop}); make it slower.\n{Outputs()}");
        await Poll.UntilAsync(async () => (await worker.GetAsync("/readyz"))?.Status == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(30), () => "/readyz to report the database down\n" + Outputs());
        await Postgres.StartAgainAsync(Ct);
        await Poll.UntilAsync(async () => (await worker.GetAsync("/readyz"))?.Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), () => "/readyz to recover\n" + Outputs());

        // The test's own pooled connections died with the server (the worker's are its business): read through a fresh pool.
        await AssertFinishesAsync(Backends(migrate: false).Store, queue, modelId, ids);
        Assert.False(worker.HasExited, "The worker died with the database.\n" + Outputs());
    }

    [Fact]
    public async Task Host_AzuriteRestartedMidRun_CompletesWithNothingLost()
    {
        var (store, queue, modelId, ids, worker) = await StartLabellingAsync();

        await Azurite.RestartAsync(Ct);
        Assert.True((await HostScenario.ProgressAsync(store)).Labelled < Count, "The batch finished before Azurite was restarted; make it slower.\n" + Outputs());

        await AssertFinishesAsync(store, queue, modelId, ids);
        Assert.False(worker.HasExited, "The worker died with the storage.\n" + Outputs());
    }
}
