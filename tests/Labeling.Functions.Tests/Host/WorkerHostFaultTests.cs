using System.Net;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Schema;
using Labeling.Sql;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Host;

[CollectionDefinition(Name)]
public sealed class WorkerHostCollection : ICollectionFixture<WorkerHostBuildFixture>
{
    public const string Name = "worker host processes";
}

/// <summary>
/// The real <c>labeling-worker</c> host as a child process, on the embedded stack: end to end from a
/// dropped folder, and killed (SIGKILL) or stopped (SIGTERM) in the middle of a batch.
/// </summary>
[Collection(WorkerHostCollection.Name)]
public sealed class EmbeddedWorkerHostTests(WorkerHostBuildFixture build) : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _folder = Directory.CreateTempSubdirectory("labeling-host-").FullName;
    private readonly List<WorkerProcess> _workers = [];

    private string DbPath => Path.Combine(_folder, "labeling.db");

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private (LabelsDatabase Database, SqliteLabelStore Store, IBlobStore Blobs, IWorkQueue Queue) Backends()
    {
        var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Sqlite, ConnectionString = $"Data Source={DbPath}" });
        database.Migrate();
        var blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions { RootPath = Path.Combine(_folder, "blobs"), Container = "labeling", FlushToDisk = false }));
        var queues = new SqliteWorkQueueFactory(database, Options.Create(new WorkQueueOptions { MaxDequeueCount = 5 }), TimeProvider.System);
        return (database, new SqliteLabelStore(database), blobs, queues.GetQueue("label"));
    }

    private WorkerProcess StartWorker(string name, params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage:Mode"] = "Embedded",
            ["Database:Provider"] = "Sqlite",
            ["Database:ConnectionString"] = $"Data Source={DbPath}",
            ["LocalBlobStore:RootPath"] = Path.Combine(_folder, "blobs"),
            ["LocalBlobStore:Container"] = "labeling",
            ["Queues:MaxDequeueCount"] = "5",
            ["Ingest:LabelQueue"] = "label",
            ["LabelBatch:ModelCacheFolder"] = Path.Combine(_folder, name, "models"),
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

    private string Outputs() => string.Join('\n', _workers.Select(w => w.Output()));

    private async Task<long> QueueColumnAsync(LabelsDatabase database, string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DbPath}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync(Ct);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Host_StartedBeforeAnyModelIsActive_WaitsWithoutTakingWork_SaysWhy_ThenLabelsEverything()
    {
        var (database, store, blobs, queue) = Backends();
        await blobs.CreateIfNotExistsAsync(Ct);
        await HostScenario.RegisterModelAsync(store, blobs, _folder, activate: false);
        var ids = await HostScenario.SeedOneMessageAsync(store, blobs, queue, 5);
        var worker = StartWorker("worker", ("Queues:MaxDequeueCount", "2"), ("LabelWorker:StateRecheckDelay", "00:00:00.200"));

        await HostScenario.AssertWaitsForAModelAsync(
            worker, store, queue, ids,
            () => QueueColumnAsync(database, "SELECT COALESCE(MAX(dequeue_count), 0) FROM queue_messages WHERE queue = 'label'"),
            () => QueueColumnAsync(database, $"SELECT COUNT(*) FROM queue_messages WHERE queue = '{queue.PoisonQueueName}'"));
    }

    /// <summary>The worker host's counters sit behind the access gate of <c>Server:Access</c> (the same code as <c>labeling serve</c>'s); its probes do not.</summary>
    [Fact]
    public async Task Host_Stats_AreBehindTheAccessGate_ProbesAreNot()
    {
        var worker = StartWorker("worker");
        await worker.WaitReadyAsync();

        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/stats"))?.Status);
        var rebound = await worker.GetAsync("/stats", ("Host", "rebind.example"));
        Assert.True(rebound?.Status == HttpStatusCode.Forbidden, $"/stats with Host rebind.example: {rebound}\n{Outputs()}");
        Assert.Contains("Server:Access:AllowedHosts", rebound.Value.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await worker.GetAsync("/stats", ("X-Forwarded-For", "127.0.0.1")))?.Status);
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/readyz", ("Host", "rebind.example")))?.Status);

        var signed = StartWorker("signed", ("Server:Access:AllowLoopback", "false"), ("Server:Access:Token", "0123456789abcdef0123"));
        await signed.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await signed.GetAsync("/stats"))?.Status);
        Assert.Equal(HttpStatusCode.OK, (await signed.GetAsync("/stats", ("Authorization", "Bearer 0123456789abcdef0123")))?.Status);
    }

    [Fact]
    public async Task Host_LabelsADroppedFolder_EndToEnd()
    {
        var (database, store, blobs, _) = Backends();
        await blobs.CreateIfNotExistsAsync(Ct);
        var modelId = await HostScenario.RegisterModelAsync(store, blobs, _folder);
        var random = new byte[4096];
        new Random(7).NextBytes(random);
        var rocket = HostScenario.Photo("rocket.jpg");
        var good = new Dictionary<string, byte[]>
        {
            ["inbox/photos/person/astro naut.png"] = HostScenario.Photo("astronaut.png"),
            ["inbox/photos/person/ünïcödé 猫.png"] = HostScenario.Photo("chelsea.png"),
            ["inbox/photos/person/50% #1 rocket.jpg"] = rocket,
            ["inbox/photos/person/coffee.png"] = HostScenario.Photo("coffee.png"),
        };
        var hostile = new Dictionary<string, (byte[] Bytes, string Reason)>
        {
            ["inbox/photos/person/zero bytes.jpg"] = ([], "empty: "),
            ["inbox/photos/person/random #2 100%.jpg"] = (random, "not-an-image: "),
            ["inbox/photos/person/trünc ated.jpg"] = (rocket[..(rocket.Length / 2)], "truncated: "),
        };
        foreach (var (name, bytes) in good.Concat(hostile.Select(h => KeyValuePair.Create(h.Key, h.Value.Bytes))))
        {
            using var content = new MemoryStream(bytes);
            await blobs.WriteAsync(name, content, overwrite: false, Ct);
        }

        var worker = StartWorker("worker", ("Worker:ScanInterval", "00:00:01"));
        await worker.WaitReadyAsync();
        var total = good.Count + hostile.Count;
        await Poll.UntilAsync(async () => await HostScenario.ProgressAsync(store) is { Pending: 0, Queued: 0 } p && p.Images == total,
            TimeSpan.FromSeconds(120), () => $"every image labelled or failed; now {HostScenario.ProgressAsync(store).Result}\n{Outputs()}");

        var ids = await store.GetImageIdsByPathAsync([.. good.Keys, .. hostile.Keys], Ct);
        Assert.Equal(total, ids.Count);
        var images = (await store.GetImagesAsync([.. ids.Values], Ct)).ToDictionary(i => i.BlobPath);
        foreach (var (name, bytes) in good)
        {
            var image = images[name];
            Assert.Equal((ImageStatus.Labelled, modelId, (string?)null), (image.Status, image.LabelledByModelId, image.LastError));
            var boxes = await HostScenario.BoxesOfAsync(store, image.Id);
            Assert.All(boxes, b => Assert.Equal("v1", b.ModelVersion));
            HostScenario.AssertPersonBoxes(bytes, boxes);
        }

        foreach (var (name, (_, reason)) in hostile)
        {
            var image = images[name];
            Assert.Equal(ImageStatus.Failed, image.Status);
            Assert.StartsWith(reason, image.LastError, StringComparison.Ordinal);
            Assert.Empty(await HostScenario.BoxesOfAsync(store, image.Id));
        }

        // The counters lag the database by the message delete; poll them too.
        JsonElement stats = default;
        await Poll.UntilAsync(async () =>
        {
            var response = await worker.GetAsync("/stats");
            if (response is not { Status: HttpStatusCode.OK } ok)
            {
                return false;
            }

            stats = JsonDocument.Parse(ok.Body).RootElement.Clone();
            return stats.GetProperty("images").GetInt64() >= total;
        }, TimeSpan.FromSeconds(10), () => $"/stats to count {total} images: {stats}\n{Outputs()}");
        Assert.Equal(total, stats.GetProperty("images").GetInt64());
        Assert.Equal(0, stats.GetProperty("failedMessages").GetInt64());
        Assert.True(stats.GetProperty("messages").GetInt64() >= 1);
        GC.KeepAlive(database);
    }

    private static readonly (string, string)[] SlowBatch =
    [
        ("LabelBatch:ModelBatchSize", "1"),
        ("LabelBatch:DownloadParallelism", "1"),
        ("LabelBatch:DecodeParallelism", "1"),
    ];

    [Fact]
    public async Task Host_KilledMidBatch_AnotherWorkerFinishes_WithNothingLostOrDuplicated()
    {
        const int count = 150;
        var (database, store, blobs, queue) = Backends();
        await blobs.CreateIfNotExistsAsync(Ct);
        var modelId = await HostScenario.RegisterModelAsync(store, blobs, _folder);
        var ids = await HostScenario.SeedOneMessageAsync(store, blobs, queue, count);

        var a = StartWorker("worker-a", [.. SlowBatch, ("LabelBatch:VisibilityTimeout", "00:00:03")]);
        await a.WaitReadyAsync();
        await Poll.UntilAsync(async () => (await HostScenario.ProgressAsync(store)).Labelled >= 5,
            TimeSpan.FromSeconds(60), () => "worker A to label some images\n" + Outputs());
        Assert.Equal(1, await QueueColumnAsync(database, "SELECT MAX(dequeue_count) FROM queue_messages WHERE queue = 'label'"));
        await a.KillAsync();
        var atKill = await HostScenario.ProgressAsync(store);
        Assert.True(atKill.Labelled < count, $"The batch finished before worker A was killed ({atKill}); make it slower.\n{Outputs()}");
        Assert.Equal(1, await queue.GetApproximateCountAsync(Ct)); // still there, leased to a dead worker

        var b = StartWorker("worker-b", SlowBatch.Select(s => (s.Item1, "8")).ToArray());
        await b.WaitReadyAsync();
        await Poll.UntilAsync(async () => (await HostScenario.ProgressAsync(store)).Labelled == count && await queue.GetApproximateCountAsync(Ct) == 0,
            TimeSpan.FromSeconds(60), () => $"worker B to finish ({HostScenario.ProgressAsync(store).Result})\n{Outputs()}");

        await HostScenario.AssertAllLabelledOnceAsync(store, ids, modelId);
        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
        Assert.Equal(0, await QueueColumnAsync(database, $"SELECT COUNT(*) FROM queue_messages WHERE queue = '{queue.PoisonQueueName}'"));
    }

    [Fact]
    public async Task Host_ShutsDownGracefully_ReleasingItsMessage()
    {
        const int count = 150;
        var (database, store, blobs, queue) = Backends();
        await blobs.CreateIfNotExistsAsync(Ct);
        await HostScenario.RegisterModelAsync(store, blobs, _folder);
        var ids = await HostScenario.SeedOneMessageAsync(store, blobs, queue, count);

        // A long lease: only a release on shutdown makes the message visible again soon.
        var worker = StartWorker("worker", [.. SlowBatch, ("LabelBatch:VisibilityTimeout", "00:05:00")]);
        await worker.WaitReadyAsync();
        await Poll.UntilAsync(async () => (await HostScenario.ProgressAsync(store)).Labelled >= 5,
            TimeSpan.FromSeconds(60), () => "the worker to label some images\n" + Outputs());

        await worker.TerminateAsync();
        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)), "The host did not exit within its shutdown timeout.\n" + Outputs());
        Assert.True(worker.ExitCode == 0, $"exit code {worker.ExitCode}\n{Outputs()}");
        var atExit = await HostScenario.ProgressAsync(store);
        Assert.True(atExit.Labelled < count, $"The batch finished before the SIGTERM ({atExit}); make it slower.\n{Outputs()}");
        Assert.Equal(0, atExit.Failed);
        Assert.Equal(count - atExit.Labelled, atExit.Queued);

        var again = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromMinutes(1), Ct));
        Assert.Equal(2, again.DequeueCount);
        Assert.Equal(ids, LabelMessage.Parse(again.Body).ImageIds);
        Assert.Contains($"Shutting down: released message {again.MessageId}", worker.Output(), StringComparison.Ordinal);
        GC.KeepAlive(database);
    }
}
