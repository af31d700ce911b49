using System.Collections.Concurrent;
using Labeling.Blobs;
using Labeling.Functions.Batches;
using Labeling.Functions.Control;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using static Labeling.Functions.Tests.PersonUnicornModel;

namespace Labeling.Functions.Tests.Batches;

/// <summary>Job control per dataset on both stacks: pause, resume, cancel, priority and the batch cap, through the real scanner, admission and worker.</summary>
public abstract partial class LabelBatchHandlerContract
{
    private static readonly TimeSpan ControlDeadline = TimeSpan.FromSeconds(60);

    private sealed record ControlRig(
        Seeded Seeded, RecordingQueueFactory Queues, IngestOptions Ingest, InboxScanner Scanner, DatasetControl Control, DatasetAdmission Admission);

    /// <summary>The seeded "photos" dataset with its images pending, a scanner and control on label queues of this test's own names.</summary>
    private async Task<ControlRig> ControlRigAsync(int maxDequeueCount = 5)
    {
        var seeded = await SeedAsync(maxDequeueCount, hostile: false);
        await seeded.Backend.Store.SetStatusAsync([.. seeded.Ids.Values], ImageStatus.Pending, null, Ct);
        var ingest = new IngestOptions { LabelQueue = UniqueName("lq"), LabelBatchSize = 2 };
        var queues = new RecordingQueueFactory(seeded.Backend.Queues);
        var scanner = new InboxScanner(seeded.Backend.Blobs, seeded.Backend.Store, queues, Microsoft.Extensions.Options.Options.Create(ingest), NullLogger<InboxScanner>.Instance);
        var control = new DatasetControl(seeded.Backend.Store, scanner, Microsoft.Extensions.Options.Options.Create(new DatasetControlOptions()));
        var admission = new DatasetAdmission(seeded.Backend.Store, Microsoft.Extensions.Options.Options.Create(new DatasetAdmissionOptions
        {
            PausedRecheckDelay = TimeSpan.FromMilliseconds(200),
            CapRecheckDelay = TimeSpan.FromMilliseconds(100),
        }), NullLogger<DatasetAdmission>.Instance);
        return new ControlRig(seeded, queues, ingest, scanner, control, admission);
    }

    private LabelWorker ControlWorker(ControlRig rig, int concurrency, IBlobStore? imageBlobs = null, LabelWorkerMetrics? metrics = null)
    {
        var options = Options();
        var detector = ControlDetector(rig.Seeded.Backend, options);
        var workerOptions = new LabelWorkerOptions { Concurrency = concurrency, MinIdleDelay = TimeSpan.FromMilliseconds(10), MaxIdleDelay = TimeSpan.FromMilliseconds(50), StateRecheckDelay = TimeSpan.FromMilliseconds(20) };
        var readiness = new LabelReadiness(detector, imageBlobs ?? rig.Seeded.Backend.Blobs, Microsoft.Extensions.Options.Options.Create(workerOptions), NullLogger<LabelReadiness>.Instance);
        var handler = new LabelBatchHandler(
            rig.Seeded.Backend.Store, imageBlobs ?? rig.Seeded.Backend.Blobs, detector, Microsoft.Extensions.Options.Options.Create(options),
            Microsoft.Extensions.Options.Options.Create(new WorkQueueOptions()), NullLogger<LabelBatchHandler>.Instance, readiness: readiness, admission: rig.Admission);
        var byPriority = rig.Ingest.LabelQueuesByPriority().Select(rig.Queues.GetQueue).ToList();
        return new LabelWorker(
            byPriority[1], handler, readiness,
            Microsoft.Extensions.Options.Options.Create(workerOptions),
            Microsoft.Extensions.Options.Options.Create(options), NullLogger<LabelWorker>.Instance, metrics: metrics, queuesByPriority: byPriority);
    }

    private ActiveDetectorProvider ControlDetector(LabelBatchBackend backend, LabelBatchOptions options)
    {
        var provider = new ActiveDetectorProvider(
            backend.Store, backend.Blobs, Microsoft.Extensions.Options.Options.Create(options),
            Microsoft.Extensions.Options.Options.Create(new Detection.DetectorOptions { IntraOpThreads = 1 }), NullLogger<ActiveDetectorProvider>.Instance);
        _providers.Add(provider);
        return provider;
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + ControlDeadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(20, Ct);
        }
    }

    private static async Task<Dictionary<ImageStatus, int>> StatusesAsync(ILabelStore store, IEnumerable<long> ids) =>
        (await store.GetImagesAsync([.. ids], Ct)).GroupBy(i => i.Status).ToDictionary(g => g.Key, g => g.Count());

    [Fact]
    public async Task Scan_SendsOneDatasetPerMessage_WithItsIdAndGeneration_ToItsPrioritysQueue_AndQueuesNothingOfAPausedDataset()
    {
        var rig = await ControlRigAsync();
        var store = rig.Seeded.Backend.Store;
        await rig.Control.PauseAsync("photos", Ct);
        await rig.Control.SetPriorityAsync("photos", DatasetPriority.High, Ct);
        Assert.Equal(0, await rig.Scanner.EnqueuePendingAsync(null, Ct));
        await store.SetDatasetStateAsync("photos", DatasetState.Active, Ct);

        var batches = await rig.Scanner.EnqueuePendingAsync(null, Ct);

        var high = rig.Queues.GetQueue(rig.Ingest.LabelQueuesByPriority()[0]);
        var messages = await high.ReceiveAsync(QueueLimits.MaxReceiveCount, TimeSpan.FromMinutes(1), Ct);
        var dataset = (await store.GetDatasetControlAsync("photos", Ct))!;
        Assert.Equal(3, batches);
        Assert.Equal(3, messages.Count);
        Assert.All(messages.Select(m => LabelMessage.Parse(m.Body)), m => Assert.Equal((dataset.Id, (long?)1), (m.Dataset!.Value, m.Generation)));
        var normal = rig.Queues.GetQueue(rig.Ingest.LabelQueue);
        await normal.CreateIfNotExistsAsync(Ct);
        Assert.Equal(0, await normal.GetApproximateCountAsync(Ct));
        Assert.Equal(Photos.Length, (await StatusesAsync(store, rig.Seeded.Ids.Values))[ImageStatus.Queued]);

        await rig.Control.CancelAsync("photos", Ct);
        Assert.Equal(0, await rig.Scanner.EnqueuePendingAsync(null, Ct));
        Assert.Equal(Photos.Length, (await StatusesAsync(store, rig.Seeded.Ids.Values))[ImageStatus.Pending]);
    }

    [Fact]
    public async Task Pause_WorkerDefersThePausedDatasetsBatches_WithoutLabellingOrUsingDeliveries_AndLabelsThemAfterResume()
    {
        var rig = await ControlRigAsync(maxDequeueCount: 2);
        var store = rig.Seeded.Backend.Store;
        Assert.Equal(3, await rig.Scanner.EnqueuePendingAsync("photos", Ct));
        await rig.Control.PauseAsync("photos", Ct);
        var sentBefore = rig.Queues.Sends;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = ControlWorker(rig, concurrency: 2).RunAsync(stop.Token);
        // Every batch put back at least twice: more deliveries than MaxDequeueCount would allow, had they counted.
        await PollAsync(() => Task.FromResult(rig.Queues.Sends >= sentBefore + 9), "the paused batches to be deferred three times each");
        var whilePaused = await StatusesAsync(store, rig.Seeded.Ids.Values);
        var resumed = await rig.Control.ResumeAsync("photos", Ct);
        await PollAsync(async () => (await StatusesAsync(store, rig.Seeded.Ids.Values)).GetValueOrDefault(ImageStatus.Labelled) == Photos.Length, "every image to be labelled");
        await stop.CancelAsync();
        await run;

        Assert.Equal(Photos.Length, whilePaused[ImageStatus.Queued]);
        Assert.Equal(DatasetState.Active, resumed!.Dataset.State);
        Assert.Equal(0, (await store.GetProgressAsync("photos", Ct)).Single().Failed);
        Assert.Equal(0, await rig.Queues.GetQueue($"{rig.Ingest.LabelQueue}-poison").GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Stats_QueueDepth_CountsEveryPriorityLevelsQueue()
    {
        var rig = await ControlRigAsync();
        await rig.Control.SetPriorityAsync("photos", DatasetPriority.High, Ct);
        await rig.Control.PauseAsync("photos", Ct);
        await rig.Control.ResumeAsync("photos", Ct); // its 3 batches on label-high
        await rig.Control.PauseAsync("photos", Ct);  // ... where the worker keeps putting them back
        using var meters = new PlainMeterFactory();
        using var metrics = new LabelWorkerMetrics(meters);
        var sentBefore = rig.Queues.Sends;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = ControlWorker(rig, concurrency: 1, metrics: metrics).RunAsync(stop.Token);
        await PollAsync(() => Task.FromResult(rig.Queues.Sends >= sentBefore + 3), "the worker to take and put back the high queue's batches");
        await stop.CancelAsync();
        await run;

        // Sampled after each receive, one batch at a time: the three messages of label-high (label itself is empty).
        var depth = System.Text.Json.JsonSerializer.SerializeToElement(metrics.Snapshot()).GetProperty("queueDepth").GetInt64();
        Assert.Equal(3, depth);
        Assert.Equal(0, await rig.Queues.GetQueue(rig.Ingest.LabelQueue).GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Cancel_ReturnsQueuedImagesToPending_NeverFailed_WorkersDropItsMessages_AndResumeLabelsThem()
    {
        var rig = await ControlRigAsync();
        var store = rig.Seeded.Backend.Store;
        Assert.Equal(3, await rig.Scanner.EnqueuePendingAsync("photos", Ct));

        var cancelled = await rig.Control.CancelAsync("photos", Ct);
        var afterCancel = await StatusesAsync(store, rig.Seeded.Ids.Values);
        var normal = rig.Queues.GetQueue(rig.Ingest.LabelQueue);
        var handler = new LabelBatchHandler(
            store, rig.Seeded.Backend.Blobs, ControlDetector(rig.Seeded.Backend, Options()), Microsoft.Extensions.Options.Options.Create(Options()),
            Microsoft.Extensions.Options.Options.Create(new WorkQueueOptions()), NullLogger<LabelBatchHandler>.Instance, admission: rig.Admission);
        // Paused by the cancel, its old messages are still dropped, not deferred: their generation is gone.
        var outcomes = new List<LabelBatchOutcome>();
        foreach (var message in await normal.ReceiveAsync(QueueLimits.MaxReceiveCount, TimeSpan.FromMinutes(1), Ct))
        {
            outcomes.Add(await handler.HandleAsync(message, normal, Ct));
        }

        Assert.Equal((DatasetState.Paused, 1L), (cancelled!.Dataset.State, cancelled.Dataset.Generation));
        Assert.Equal(Photos.Length, afterCancel[ImageStatus.Pending]);
        Assert.False(afterCancel.ContainsKey(ImageStatus.Failed));
        Assert.Equal([LabelBatchOutcome.Dropped, LabelBatchOutcome.Dropped, LabelBatchOutcome.Dropped], outcomes);
        Assert.Equal(0, await normal.GetApproximateCountAsync(Ct));
        Assert.Equal(Photos.Length, (await StatusesAsync(store, rig.Seeded.Ids.Values))[ImageStatus.Pending]);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = ControlWorker(rig, concurrency: 2).RunAsync(stop.Token);
        var resumed = await rig.Control.ResumeAsync("photos", Ct);
        await PollAsync(async () => (await StatusesAsync(store, rig.Seeded.Ids.Values)).GetValueOrDefault(ImageStatus.Labelled) == Photos.Length, "every image to be labelled after resume");
        await stop.CancelAsync();
        await run;

        Assert.Contains("3 batch(es)", resumed!.Summary, StringComparison.Ordinal);
        Assert.Equal(0, (await store.GetProgressAsync("photos", Ct)).Single().Failed);
    }

    [Fact]
    public async Task Priority_AHighDatasetsBatches_AreTakenBeforeALowOnesAlreadyQueued()
    {
        var rig = await ControlRigAsync();
        var store = rig.Seeded.Backend.Store;
        var urgent = await store.EnsureDatasetAsync("urgent", Ct);
        var urgentImages = new List<long>();
        foreach (var photo in Photos)
        {
            using (var content = new MemoryStream(rig.Seeded.Bytes[$"inbox/photos/{photo}"]))
            {
                await rig.Seeded.Backend.Blobs.WriteAsync($"inbox/urgent/{photo}", content, overwrite: false, Ct);
            }

            urgentImages.Add((await store.RegisterImagesAsync(urgent, [new NewImage($"inbox/urgent/{photo}", "u-" + photo)], Ct))[0].ImageId);
        }

        await store.AddTagsAsync(urgentImages.SelectMany(id => new[] { new ImageTag(id, "person"), new ImageTag(id, "unicorn") }).ToList(), Ct);
        await rig.Control.PauseAsync("urgent", Ct);
        // An active dataset's new priority moves its work at once: its three batches go to the low queue.
        var low = await rig.Control.SetPriorityAsync("photos", DatasetPriority.Low, Ct);
        Assert.Contains("3 batch(es)", low!.Summary, StringComparison.Ordinal);
        Assert.Equal(0, await rig.Scanner.EnqueuePendingAsync(null, Ct));
        await rig.Control.SetPriorityAsync("urgent", DatasetPriority.High, Ct);
        var resumed = await rig.Control.ResumeAsync("urgent", Ct);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = ControlWorker(rig, concurrency: 1).RunAsync(stop.Token);
        await PollAsync(async () => (await StatusesAsync(store, [.. rig.Seeded.Ids.Values, .. urgentImages])).GetValueOrDefault(ImageStatus.Labelled) == 2 * Photos.Length, "both datasets to be labelled");
        await stop.CancelAsync();
        await run;

        Assert.Contains("3 batch(es)", resumed!.Summary, StringComparison.Ordinal);
        var order = rig.Queues.Received.Select(body => LabelMessage.Parse(body).Dataset).ToList();
        Assert.Equal(6, order.Count);
        Assert.All(order.Take(3), d => Assert.Equal(urgent, d));
        Assert.All(order.Skip(3), d => Assert.NotEqual(urgent, d));
    }

    [Fact]
    public async Task Cap_NeverMoreThanNBatchesOfADatasetAtOnce_TheRestWait_ThenAllAreLabelled()
    {
        var rig = await ControlRigAsync();
        var store = rig.Seeded.Backend.Store;
        await rig.Control.SetBatchCapAsync("photos", 1, Ct);
        Assert.Equal(3, await rig.Scanner.EnqueuePendingAsync("photos", Ct));
        var gate = new TaskCompletionSource();
        // The scan sends the pending images in id order, two a message: an image's batch is its rank / 2.
        var rank = rig.Seeded.Ids.OrderBy(p => p.Value).Select((p, i) => (p.Key, i / 2)).ToDictionary(p => p.Key, p => p.Item2);
        var gated = new ConcurrencyCountingBlobStore(rig.Seeded.Backend.Blobs, gate.Task, name => rank[name]);
        var sentBefore = rig.Queues.Sends;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = ControlWorker(rig, concurrency: 3, imageBlobs: gated).RunAsync(stop.Token);
        await gated.Entered.WaitAsync(Ct);
        // Three free slots, one place under the cap: the other two batches are put back, again and again.
        await PollAsync(() => Task.FromResult(rig.Queues.Sends >= sentBefore + 4), "the batches over the cap to be deferred");
        var running = (await store.GetDatasetActivityAsync(TimeSpan.FromMinutes(5), Ct)).Single(a => a.Control.Name == "photos").RunningBatches;
        var batchesInDownload = gated.Batches;
        gate.SetResult();
        await PollAsync(async () => (await StatusesAsync(store, rig.Seeded.Ids.Values)).GetValueOrDefault(ImageStatus.Labelled) == Photos.Length, "every image to be labelled");
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, running);
        Assert.Equal(1, batchesInDownload);
        Assert.Equal(1, gated.MostBatchesAtOnce);
        await PollAsync(async () => (await store.GetDatasetActivityAsync(TimeSpan.FromMinutes(5), Ct)).Single(a => a.Control.Name == "photos").RunningBatches == 0, "the leases to be released");
    }
}

/// <summary>Queues that record every body sent and received (in order), over a real factory.</summary>
internal sealed class RecordingQueueFactory(IWorkQueueFactory inner) : IWorkQueueFactory
{
    private readonly ConcurrentDictionary<string, IWorkQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _received = new();
    private int _sends;

    public int Sends => Volatile.Read(ref _sends);

    public IReadOnlyList<string> Received => [.. _received];

    public IWorkQueue GetQueue(string name) => _queues.GetOrAdd(name, n => new RecordingQueue(this, inner.GetQueue(n)));

    private sealed class RecordingQueue(RecordingQueueFactory owner, IWorkQueue inner) : IWorkQueue
    {
        public string Name => inner.Name;

        public string PoisonQueueName => inner.PoisonQueueName;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken) => inner.PeekAsync(maxMessages, cancellationToken);

        public async Task<string> SendAsync(string body, TimeSpan? initialDelay, CancellationToken cancellationToken)
        {
            var id = await inner.SendAsync(body, initialDelay, cancellationToken);
            Interlocked.Increment(ref owner._sends);
            return id;
        }

        public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
        {
            var messages = await inner.ReceiveAsync(maxMessages, visibilityTimeout, cancellationToken);
            foreach (var message in messages)
            {
                owner._received.Enqueue(message.Body);
            }

            return messages;
        }

        public Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken) =>
            inner.UpdateVisibilityAsync(message, visibilityTimeout, cancellationToken);

        public Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken) => inner.DeleteAsync(message, cancellationToken);

        public Task DeadLetterAsync(QueueMessage message, string error, CancellationToken cancellationToken) => inner.DeadLetterAsync(message, error, cancellationToken);

        public Task<int> GetApproximateCountAsync(CancellationToken cancellationToken) => inner.GetApproximateCountAsync(cancellationToken);
    }
}

/// <summary>A real blob store whose reads wait for a gate, counting the distinct batches (<c>batchOf</c> each blob) reading at once.</summary>
internal sealed class ConcurrencyCountingBlobStore(IBlobStore inner, Task gate, Func<string, int> batchOf) : IBlobStore
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lock = new();
    private readonly Dictionary<int, int> _readsByTask = [];
    private int _inFlight;
    private int _most;

    public Task Entered => _entered.Task;

    /// <summary>Handler runs with a read in flight now.</summary>
    public int Batches
    {
        get
        {
            lock (_lock)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>The most handler runs ever reading at once.</summary>
    public int MostBatchesAtOnce
    {
        get
        {
            lock (_lock)
            {
                return _most;
            }
        }
    }

    public string Container => inner.Container;

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

    public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) =>
        inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        var key = batchOf(name);
        lock (_lock)
        {
            _readsByTask[key] = _readsByTask.GetValueOrDefault(key) + 1;
            _inFlight = _readsByTask.Count;
            _most = Math.Max(_most, _inFlight);
        }

        try
        {
            _entered.TrySetResult();
            await gate.WaitAsync(cancellationToken);
            return await inner.OpenReadAsync(name, cancellationToken);
        }
        finally
        {
            lock (_lock)
            {
                if (--_readsByTask[key] == 0)
                {
                    _readsByTask.Remove(key);
                }

                _inFlight = _readsByTask.Count;
            }
        }
    }

    public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) => inner.WriteAsync(name, content, overwrite, cancellationToken);

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

    public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);
}

/// <summary>Meters without a DI container, for a worker's counters in a test.</summary>
internal sealed class PlainMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
    {
        var meter = new System.Diagnostics.Metrics.Meter(options);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose() => _meters.ForEach(m => m.Dispose());
}
