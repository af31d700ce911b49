using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Functions.Batches;
using Labeling.Imaging;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Labeling.Testing;
using Labeling.Vocabulary;
using static Labeling.Functions.Tests.PersonUnicornModel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Batches;

/// <summary>
/// <see cref="LabelBatchHandler"/> end to end on real backends, with a constant region-embedding model
/// whose boxes are known in closed form. Each backend's test class derives from this.
/// </summary>
public abstract partial class LabelBatchHandlerContract : IAsyncDisposable
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly List<IDisposable> _providers = [];

    protected TempFolder Folder { get; } = new();

    /// <summary>Fresh ports for one test (own database, container and queues).</summary>
    protected abstract Task<LabelBatchBackend> CreateBackendAsync(int maxDequeueCount);

    protected void Track(IAsyncDisposable disposable) => _disposables.Add(disposable);

    protected static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        Folder.Dispose();
        GC.SuppressFinalize(this);
    }

    // ---- the scenario ------------------------------------------------------------------------------

    private sealed record Seeded(LabelBatchBackend Backend, IWorkQueue Queue, long ModelId, Dictionary<string, long> Ids, Dictionary<string, byte[]> Bytes);

    private static byte[] TruncatedJpeg()
    {
        var jpeg = File.ReadAllBytes(RepoPaths.SharedData("images", "rocket.jpg"));
        return jpeg[..(jpeg.Length / 2)];
    }

    // A PNG whose header claims 100000×100000 pixels: refused from the header, before any pixel is decoded.
    private static byte[] PngBomb()
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, 100_000);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), 100_000);
        ihdr[8] = 8;
        ihdr[9] = 2;
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", new byte[64]);
        Chunk(ms, "IEND", []);
        return ms.ToArray();

        static void Chunk(Stream s, string type, byte[] data)
        {
            var header = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
            System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
            s.Write(header);
            s.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32([.. header.AsSpan(4).ToArray(), .. data]));
            s.Write(crc);
        }
    }

    private static Dictionary<string, byte[]> Files(bool hostile)
    {
        var files = Photos.ToDictionary(name => $"inbox/photos/{name}", name => File.ReadAllBytes(RepoPaths.SharedData("images", name)));
        if (hostile)
        {
            var random = new byte[4096];
            new Random(7).NextBytes(random);
            files["inbox/hostile/empty.jpg"] = [];
            files["inbox/hostile/random.jpg"] = random;
            files["inbox/hostile/truncated.jpg"] = TruncatedJpeg();
            files["inbox/hostile/bomb.png"] = PngBomb();
        }

        return files;
    }

    private static readonly Dictionary<string, string> HostileReasons = new()
    {
        ["inbox/hostile/empty.jpg"] = "empty: ",
        ["inbox/hostile/random.jpg"] = "not-an-image: ",
        ["inbox/hostile/truncated.jpg"] = "truncated: ",
        ["inbox/hostile/bomb.png"] = "too-many-pixels: ",
    };

    private string ModelFile() => PersonUnicornModel.Write(Folder.Path);

    /// <summary>Uploads the model as models/v1.onnx (registered with <paramref name="registeredSha"/>, else its real hash) and activates it; uploads and registers the images, tagged "person" and "unicorn", queued.</summary>
    private async Task<Seeded> SeedAsync(
        int maxDequeueCount = 5, bool hostile = true, string? registeredSha = null, IEnumerable<string>? missingBlobs = null, bool activate = true, string? modelFile = null)
    {
        var backend = await CreateBackendAsync(maxDequeueCount);
        var store = backend.Store;
        var modelBytes = await File.ReadAllBytesAsync(modelFile ?? ModelFile(), Ct);
        using (var content = new MemoryStream(modelBytes))
        {
            await backend.Blobs.WriteAsync("models/v1.onnx", content, overwrite: false, Ct);
        }

        var sha = registeredSha ?? Convert.ToHexStringLower(SHA256.HashData(modelBytes));
        var modelId = await store.RegisterModelAsync(new NewModel("v1", DetectorInfo.RegionEmbeddingContract, "models/v1.onnx", sha, Encoder.Space), Ct);
        if (activate)
        {
            await store.ActivateModelAsync("v1", Ct);
        }

        var files = Files(hostile);
        foreach (var (name, bytes) in files)
        {
            using var content = new MemoryStream(bytes);
            await backend.Blobs.WriteAsync(name, content, overwrite: false, Ct);
        }

        var registered = files.Keys.Concat(missingBlobs ?? []).ToList();
        var dataset = await store.EnsureDatasetAsync("photos", Ct);
        var images = await store.RegisterImagesAsync(dataset, registered.Select(n => new NewImage(n, "h-" + n)).ToList(), Ct);
        var ids = images.ToDictionary(i => i.BlobPath, i => i.ImageId);
        await store.AddTagsAsync(ids.Values.SelectMany(id => new[] { new ImageTag(id, "person"), new ImageTag(id, "Unicorn") }).ToList(), Ct);
        await store.SetStatusAsync(ids.Values.ToList(), ImageStatus.Queued, null, Ct);

        var queue = backend.Queues.GetQueue(UniqueName("label"));
        await queue.CreateIfNotExistsAsync(Ct);
        return new Seeded(backend, queue, modelId, ids, files);
    }

    private LabelBatchHandler Handler(LabelBatchBackend backend, LabelBatchOptions? options = null, int maxDequeueCount = 5, IBlobStore? imageBlobs = null, Labeling.Functions.Ingest.IngestOptions? ingest = null) =>
        Parts(backend, options, maxDequeueCount, imageBlobs, ingest: ingest).Handler;

    /// <summary>A handler with its own provider and readiness gate (put-back messages hidden for <paramref name="recheck"/>, default 1 ms).</summary>
    private (LabelBatchHandler Handler, LabelReadiness Readiness) Parts(
        LabelBatchBackend backend, LabelBatchOptions? options = null, int maxDequeueCount = 5, IBlobStore? imageBlobs = null, TimeSpan? recheck = null, Labeling.Functions.Ingest.IngestOptions? ingest = null)
    {
        options ??= Options();
        var provider = new ActiveDetectorProvider(
            backend.Store, backend.Blobs, Microsoft.Extensions.Options.Options.Create(options),
            Microsoft.Extensions.Options.Options.Create(new DetectorOptions { IntraOpThreads = 1 }), NullLogger<ActiveDetectorProvider>.Instance);
        _providers.Add(provider);
        var readiness = new LabelReadiness(
            provider, imageBlobs ?? backend.Blobs, Microsoft.Extensions.Options.Options.Create(WorkerOptions(recheck ?? TimeSpan.FromMilliseconds(1))), NullLogger<LabelReadiness>.Instance);
        var handler = new LabelBatchHandler(
            backend.Store, imageBlobs ?? backend.Blobs, provider, Microsoft.Extensions.Options.Options.Create(options),
            Microsoft.Extensions.Options.Options.Create(new WorkQueueOptions { MaxDequeueCount = maxDequeueCount }), NullLogger<LabelBatchHandler>.Instance, readiness: readiness,
            ingest: ingest is null ? null : Microsoft.Extensions.Options.Options.Create(ingest));
        return (handler, readiness);
    }

    private static LabelWorkerOptions WorkerOptions(TimeSpan recheck, int concurrency = 2) => new()
    {
        Concurrency = concurrency,
        MinIdleDelay = TimeSpan.FromMilliseconds(10),
        MaxIdleDelay = TimeSpan.FromMilliseconds(100),
        StateRecheckDelay = recheck,
    };

    private LabelBatchOptions Options() => new()
    {
        ModelBatchSize = 2,
        DownloadParallelism = 3,
        DecodeParallelism = 2,
        ModelCacheFolder = Path.Combine(Folder.Path, "models"),
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        ReleaseBaseDelay = TimeSpan.Zero,
    };

    private static async Task<QueueMessage> SendAndReceiveAsync(IWorkQueue queue, string body)
    {
        await queue.SendAsync(body, null, Ct);
        return Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromMinutes(5), Ct));
    }

    // ---- closed form ---------------------------------------------------------------------------------

    private static float ClassProbability(string proposal, string className)
    {
        var cos = 0f;
        var a = Encoder.Encode(proposal);
        var b = Encoder.Encode(className);
        for (var i = 0; i < a.Length; i++)
        {
            cos += a[i] * b[i];
        }

        return 1f / (1f + MathF.Exp(-(cos * LogitScale + LogitBias)));
    }

    private static float Score(int proposal, string className) => MathF.Sqrt(Objectness[proposal] * ClassProbability(ProposalNames[proposal], className));

    private static (float X1, float Y1, float X2, float Y2) Original(int proposal, int width, int height)
    {
        var t = Letterbox.ComputeTransform(width, height, InputSize, InputSize);
        var (x1, y1) = t.ToOriginal(Boxes[proposal, 0], Boxes[proposal, 1]);
        var (x2, y2) = t.ToOriginal(Boxes[proposal, 2], Boxes[proposal, 3]);
        return (x1, y1, x2, y2);
    }

    /// <summary>What the model must produce for a photo tagged person and unicorn: persons 0 and 2 (1 is suppressed by 0), unicorn weak on the whole image.</summary>
    private static List<(string Class, BoxSource Source, float X1, float Y1, float X2, float Y2, float Score)> Expected(byte[] photo)
    {
        var decoded = ImageDecoder.Decode(photo, new ImageDecodeOptions { TargetLongSide = InputSize });
        Assert.True(decoded.Success, decoded.Message);
        var (w, h) = (decoded.Image.OriginalWidth, decoded.Image.OriginalHeight);
        var expected = new List<(string, BoxSource, float, float, float, float, float)>();
        foreach (var p in new[] { 0, 2 })
        {
            var (x1, y1, x2, y2) = Original(p, w, h);
            expected.Add(("person", BoxSource.Pseudo, x1, y1, x2, y2, Score(p, "person")));
        }

        expected.Add(("unicorn", BoxSource.Weak, 0, 0, w, h, Objectness[3]));
        return expected;
    }

    private static async Task<List<BoxRow>> BoxesOfAsync(ILabelStore store, long imageId)
    {
        var page = await store.QueryBoxesAsync(new BoxQuery { ImageId = imageId, Limit = 1000 }, Ct);
        return page.Boxes.OrderBy(b => b.Source).ThenBy(b => b.X1).ThenBy(b => b.ClassName, StringComparer.Ordinal).ToList();
    }

    private static void AssertBoxes(byte[] photo, IReadOnlyList<BoxRow> actual)
    {
        var expected = Expected(photo).OrderBy(e => e.Source).ThenBy(e => e.X1).ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (cls, source, x1, y1, x2, y2, score) = expected[i];
            var box = actual[i];
            Assert.Equal((cls, source, "v1"), (box.ClassName, box.Source, box.ModelVersion));
            Assert.Equal(x1, box.X1, 0.01f);
            Assert.Equal(y1, box.Y1, 0.01f);
            Assert.Equal(x2, box.X2, 0.01f);
            Assert.Equal(y2, box.Y2, 0.01f);
            Assert.Equal(score, box.Score!.Value, 0.0001f);
        }
    }

    // ---- tests ---------------------------------------------------------------------------------------

    [Fact]
    public void TheModel_SeparatesTagsItSeesFromTagsItCannot()
    {
        // Preconditions of the closed form: person regions clear the 0.3 threshold, nothing else does.
        Assert.True(Score(0, "person") > 0.8f && Score(2, "person") > 0.7f);
        Assert.All(Enumerable.Range(0, 4), p => Assert.True(Score(p, "unicorn") < 0.3f));
        Assert.True(Score(3, "person") < 0.3f);
    }

    [Fact]
    public async Task Handle_LabelsGoodImagesWithTheModelsBoxes_FailsEveryHostileFileWithItsReason_AndDeletesTheMessage()
    {
        var seeded = await SeedAsync();
        var store = seeded.Backend.Store;
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await Handler(seeded.Backend).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        var images = (await store.GetImagesAsync([.. seeded.Ids.Values], Ct)).ToDictionary(i => i.BlobPath);
        var tags = await store.GetTagsAsync([.. seeded.Ids.Values], Ct);
        foreach (var photo in Photos.Select(p => $"inbox/photos/{p}"))
        {
            var image = images[photo];
            Assert.Equal((ImageStatus.Labelled, seeded.ModelId, (string?)null), (image.Status, image.LabelledByModelId, image.LastError));
            AssertBoxes(seeded.Bytes[photo], await BoxesOfAsync(store, image.Id));
            Assert.Equal(TagState.Grounded, tags.Single(t => t.ImageId == image.Id && t.ClassName == "person").State);
            Assert.Equal(TagState.Weak, tags.Single(t => t.ImageId == image.Id && t.ClassName == "unicorn").State);
        }

        foreach (var (path, reason) in HostileReasons)
        {
            var image = images[path];
            Assert.Equal(ImageStatus.Failed, image.Status);
            Assert.StartsWith(reason, image.LastError, StringComparison.Ordinal);
            Assert.Empty(await BoxesOfAsync(store, image.Id));
        }

        Assert.Contains("100000", images["inbox/hostile/bomb.png"].LastError, StringComparison.Ordinal);
        Assert.Equal(0, await seeded.Queue.GetApproximateCountAsync(Ct));
        Assert.Empty(await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).ReceiveAsync(5, TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Handle_TheSameMessageTwice_LeavesTheSameBoxes()
    {
        var seeded = await SeedAsync(hostile: false);
        var store = seeded.Backend.Store;
        var body = LabelMessage.Create([.. seeded.Ids.Values]).ToJson();
        var handler = Handler(seeded.Backend);

        Assert.Equal(LabelBatchOutcome.Completed, await handler.HandleAsync(await SendAndReceiveAsync(seeded.Queue, body), seeded.Queue, Ct));
        var first = new List<BoxRow>();
        foreach (var id in seeded.Ids.Values)
        {
            first.AddRange(await BoxesOfAsync(store, id));
        }

        Assert.Equal(LabelBatchOutcome.Completed, await handler.HandleAsync(await SendAndReceiveAsync(seeded.Queue, body), seeded.Queue, Ct));
        var second = new List<BoxRow>();
        foreach (var id in seeded.Ids.Values)
        {
            second.AddRange(await BoxesOfAsync(store, id));
        }

        Assert.Equal(3 * Photos.Length, second.Count);
        Assert.Equal(
            first.Select(b => (b.ImageId, b.ClassName, b.Source, b.X1, b.Y1, b.X2, b.Y2, b.Score)),
            second.Select(b => (b.ImageId, b.ClassName, b.Source, b.X1, b.Y1, b.X2, b.Y2, b.Score)));
        var progress = Assert.Single(await store.GetProgressAsync("photos", Ct));
        Assert.Equal((Photos.Length, 3L * Photos.Length), (progress.Labelled, progress.Boxes));
    }

    [Fact]
    public async Task Handle_MalformedMessage_IsDeadLetteredWithItsError()
    {
        var seeded = await SeedAsync(hostile: false);
        var message = await SendAndReceiveAsync(seeded.Queue, """{"v":1,"batch":"not a guid","imageIds":[1]}""");

        var outcome = await Handler(seeded.Backend).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.DeadLettered, outcome);
        var poison = PoisonMessage.Parse(Assert.Single(await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).ReceiveAsync(5, TimeSpan.FromMinutes(1), Ct)).Body);
        Assert.StartsWith("Malformed message: ", poison.Error, StringComparison.Ordinal);
        Assert.Equal(message.Body, poison.Body);
        Assert.Equal(0, await seeded.Queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Handle_MessageWhoseImagesAllAreUnknown_IsDeadLettered()
    {
        var seeded = await SeedAsync(hostile: false);
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([900_001, 900_002]).ToJson());

        var outcome = await Handler(seeded.Backend).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.DeadLettered, outcome);
        var poison = PoisonMessage.Parse(Assert.Single(await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).ReceiveAsync(5, TimeSpan.FromMinutes(1), Ct)).Body);
        Assert.Contains("None of the message's 2 image ids exist", poison.Error, StringComparison.Ordinal);
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Queued, i.Status));
    }

    [Fact]
    public async Task Handle_UnknownIdsBesideKnownOnes_AreSkipped_AndTheKnownImagesLabelled()
    {
        var seeded = await SeedAsync(hostile: false);
        var astronaut = seeded.Ids["inbox/photos/astronaut.png"];
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([900_001, astronaut]).ToJson());

        var outcome = await Handler(seeded.Backend).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        AssertBoxes(seeded.Bytes["inbox/photos/astronaut.png"], await BoxesOfAsync(seeded.Backend.Store, astronaut));
        Assert.Equal(0, await seeded.Queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Handle_ImageOverMaxImageBytes_FailsThatImageOnly_WithItsReason_AndTheRestIsLabelled()
    {
        var seeded = await SeedAsync(hostile: false);
        var big = "inbox/photos/astronaut.png";
        var limit = seeded.Bytes[big].Length - 1;
        Assert.All(seeded.Bytes.Where(f => f.Key != big), f => Assert.True(f.Value.Length <= limit));
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await Handler(seeded.Backend, ingest: new Labeling.Functions.Ingest.IngestOptions { MaxImageBytes = limit }).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        var images = (await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct)).ToDictionary(i => i.BlobPath);
        Assert.Equal(ImageStatus.Failed, images[big].Status);
        Assert.Equal($"too-large: {limit + 1} bytes is over the {limit}-byte limit (Ingest:MaxImageBytes)", images[big].LastError);
        Assert.Empty(await BoxesOfAsync(seeded.Backend.Store, images[big].Id));
        Assert.All(Photos.Where(p => $"inbox/photos/{p}" != big), p => Assert.Equal(ImageStatus.Labelled, images[$"inbox/photos/{p}"].Status));
    }

    [Fact]
    public async Task Handle_ImageWhoseSizeIsUnknownBeforeTheRead_IsReadOnlyUpToMaxImageBytes_AndFailsAlone()
    {
        var seeded = await SeedAsync(hostile: false);
        var big = "inbox/photos/astronaut.png";
        var limit = seeded.Bytes[big].Length - 1;
        var blobs = new UnseekableReads(seeded.Backend.Blobs);
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await Handler(seeded.Backend, imageBlobs: blobs, ingest: new Labeling.Functions.Ingest.IngestOptions { MaxImageBytes = limit }).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        var images = (await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct)).ToDictionary(i => i.BlobPath);
        Assert.Equal(ImageStatus.Failed, images[big].Status);
        Assert.StartsWith($"too-large: reading it went past the {limit}-byte limit", images[big].LastError, StringComparison.Ordinal);
        // The read stopped one byte past the limit, not at the end of the file.
        Assert.InRange(blobs.MostBytesRead(big), limit + 1, limit + 1);
        Assert.All(Photos.Where(p => $"inbox/photos/{p}" != big), p => Assert.Equal(ImageStatus.Labelled, images[$"inbox/photos/{p}"].Status));
    }

    /// <summary>The real store, whose read streams do not tell their length (as a store streaming from a socket would), counting what is read.</summary>
    private sealed class UnseekableReads(IBlobStore inner) : IBlobStore
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _read = new(StringComparer.Ordinal);

        public long MostBytesRead(string name) => _read.TryGetValue(name, out var n) ? n : 0;

        public string Container => inner.Container;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) => inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

        public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken) =>
            new Counting(await inner.OpenReadAsync(name, cancellationToken), n => _read.AddOrUpdate(name, n, (_, old) => Math.Max(old, n)));

        public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) => inner.WriteAsync(name, content, overwrite, cancellationToken);

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);

        private sealed class Counting(Stream inner, Action<long> report) : Stream
        {
            private long _total;

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => _total; set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count) => Add(inner.Read(buffer, offset, count));

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Add(await inner.ReadAsync(buffer, cancellationToken));

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            private int Add(int n)
            {
                _total += n;
                report(_total);
                return n;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }

    [Fact]
    public async Task Handle_MissingBlob_FailsOnlyThatImage()
    {
        var seeded = await SeedAsync(hostile: false, missingBlobs: ["inbox/photos/gone.jpg"]);
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await Handler(seeded.Backend).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        var images = (await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct)).ToDictionary(i => i.BlobPath);
        var gone = images["inbox/photos/gone.jpg"];
        Assert.Equal(ImageStatus.Failed, gone.Status);
        Assert.StartsWith("missing-blob: ", gone.LastError, StringComparison.Ordinal);
        Assert.All(Photos, p => Assert.Equal(ImageStatus.Labelled, images[$"inbox/photos/{p}"].Status));
    }

    [Fact]
    public async Task Handle_ModelFileNotMatchingItsSha256_PutsTheMessageBackEveryTime_WithoutUsingADelivery_FailingAnImage_OrDeadLettering()
    {
        var seeded = await SeedAsync(maxDequeueCount: 2, hostile: false, registeredSha: new string('0', 64));
        var (handler, readiness) = Parts(seeded.Backend, maxDequeueCount: 2);
        await seeded.Queue.SendAsync(LabelMessage.Create([.. seeded.Ids.Values]).ToJson(), null, Ct);

        // More deliveries than the queue allows: a model that cannot be loaded is never the batch's fault.
        for (var delivery = 0; delivery < 4; delivery++)
        {
            var message = await ReceiveOneAsync(seeded.Queue);
            Assert.Equal(1, message.DequeueCount);

            Assert.Equal(LabelBatchOutcome.Deferred, await handler.HandleAsync(message, seeded.Queue, Ct));
        }

        Assert.Equal((false, LabelWaitReason.ModelUnusable), (readiness.State.Ready, readiness.State.Reason));
        Assert.Contains("refusing to load it", readiness.State.Detail, StringComparison.Ordinal);
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal((ImageStatus.Queued, (string?)null), (i.Status, i.LastError)));
        Assert.Equal(0, await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).GetApproximateCountAsync(Ct));
        Assert.Equal(1, await seeded.Queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Handle_ActiveModelRefusedAsUntrusted_PutsTheMessageBack_AndWaitsAsModelUnusable_WithoutFailingAnImage()
    {
        // It loads in ONNX Runtime as it is (a com.microsoft operator): only the model checks keep it out.
        var model = ModelFile();
        HostileModels.RouteOutputThrough(model, "objectness", "com.microsoft", "Gelu");
        var seeded = await SeedAsync(maxDequeueCount: 2, hostile: false, modelFile: model);
        var (handler, readiness) = Parts(seeded.Backend, maxDequeueCount: 2);
        await seeded.Queue.SendAsync(LabelMessage.Create([.. seeded.Ids.Values]).ToJson(), null, Ct);

        for (var delivery = 0; delivery < 3; delivery++)
        {
            var message = await ReceiveOneAsync(seeded.Queue);
            Assert.Equal(1, message.DequeueCount);

            Assert.Equal(LabelBatchOutcome.Deferred, await handler.HandleAsync(message, seeded.Queue, Ct));
        }

        Assert.Equal((false, LabelWaitReason.ModelUnusable), (readiness.State.Ready, readiness.State.Reason));
        Assert.Equal(
            "Model v1 ('models/v1.onnx') cannot be loaded: models/v1.onnx: node 'Gelu_objectness' runs operator 'Gelu' of domain 'com.microsoft', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.",
            readiness.State.Detail);
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal((ImageStatus.Queued, (string?)null), (i.Status, i.LastError)));
        Assert.Equal(0, await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Handle_NoActiveModel_PutsTheMessageBackEveryTime_AndClosesTheGate_UntilAModelIsActivated()
    {
        var seeded = await SeedAsync(maxDequeueCount: 2, hostile: false, activate: false);
        var (handler, readiness) = Parts(seeded.Backend, maxDequeueCount: 2);
        await seeded.Queue.SendAsync(LabelMessage.Create([.. seeded.Ids.Values]).ToJson(), null, Ct);

        for (var delivery = 0; delivery < 3; delivery++)
        {
            var message = await ReceiveOneAsync(seeded.Queue);
            Assert.Equal(1, message.DequeueCount);
            Assert.Equal(LabelBatchOutcome.Deferred, await handler.HandleAsync(message, seeded.Queue, Ct));
        }

        Assert.Equal((false, LabelWaitReason.NoModel), (readiness.State.Ready, readiness.State.Reason));
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Queued, i.Status));

        await seeded.Backend.Store.ActivateModelAsync("v1", Ct);
        await readiness.WaitUntilReadyAsync([seeded.Queue], Ct);
        Assert.True(readiness.State.Ready, readiness.State.Detail);

        Assert.Equal(LabelBatchOutcome.Completed, await handler.HandleAsync(await ReceiveOneAsync(seeded.Queue), seeded.Queue, Ct));
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Labelled, i.Status));
        Assert.Equal(0, await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Worker_WhileNoModelIsActive_ReceivesNothing_ThenLabelsEverythingOnceOneIs()
    {
        var seeded = await SeedAsync(maxDequeueCount: 1, hostile: false, activate: false);
        var ids = seeded.Ids.Values.ToList();
        var queue = new ExtensionCountingQueue(seeded.Queue, extensionsToWaitFor: int.MaxValue, deletesToWaitFor: 3);
        foreach (var chunk in ids.Chunk(2))
        {
            await queue.SendAsync(LabelMessage.Create(chunk).ToJson(), null, Ct);
        }

        var (worker, readiness) = WorkerAndGate(seeded.Backend, queue);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = worker.RunAsync(stop.Token);
        await WaitForAsync(() => readiness.State.Reason == LabelWaitReason.NoModel, "the gate to close for the missing model");
        // Many rechecks later (20 ms apart) still nothing was taken: with a delivery limit of 1 any receive would show.
        var since = readiness.State.Since;
        await WaitForAsync(() => DateTimeOffset.UtcNow - since > TimeSpan.FromMilliseconds(500), "half a second of waiting");
        Assert.Equal(0, queue.Receives);

        await seeded.Backend.Store.ActivateModelAsync("v1", Ct);
        await queue.Deleted.WaitAsync(Ct);
        await stop.CancelAsync();
        await run;

        Assert.All(await seeded.Backend.Store.GetImagesAsync(ids, Ct), i => Assert.Equal(ImageStatus.Labelled, i.Status));
        Assert.Equal(0, await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).GetApproximateCountAsync(Ct));
        Assert.True(readiness.State.Ready);
    }

    private static async Task<QueueMessage> ReceiveOneAsync(IWorkQueue queue)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var messages = await queue.ReceiveAsync(1, TimeSpan.FromMinutes(5), Ct);
            if (messages.Count == 1)
            {
                return messages[0];
            }

            Assert.True(DateTime.UtcNow < deadline, "no message came back within 30 s");
            await Task.Delay(5, Ct);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10, Ct);
        }
    }

    [Fact]
    public async Task Handle_TransientBlobFailures_AreRetried()
    {
        var seeded = await SeedAsync(hostile: false);
        var flaky = new FlakyBlobStore(seeded.Backend.Blobs, failuresPerBlob: 2);
        var options = Options();
        options.MaxRetryAttempts = 2;
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await Handler(seeded.Backend, options, imageBlobs: flaky).HandleAsync(message, seeded.Queue, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        Assert.Equal(3 * Photos.Length, flaky.Calls);
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Labelled, i.Status));
    }

    [Fact]
    public async Task Handle_TransientFailuresOutlastingTheRetries_PutTheMessageBackHidden_WithoutUsingADelivery_OrFailingImages()
    {
        var seeded = await SeedAsync(maxDequeueCount: 1, hostile: false);
        var broken = new FlakyBlobStore(seeded.Backend.Blobs, failuresPerBlob: int.MaxValue);
        var options = Options();
        options.MaxRetryAttempts = 1;
        var (handler, readiness) = Parts(seeded.Backend, options, maxDequeueCount: 1, imageBlobs: broken, recheck: TimeSpan.FromMinutes(1));
        var message = await SendAndReceiveAsync(seeded.Queue, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await handler.HandleAsync(message, seeded.Queue, Ct);

        // Even on its last allowed delivery: an outage is not the batch's fault.
        Assert.Equal(LabelBatchOutcome.Deferred, outcome);
        Assert.Equal((false, LabelWaitReason.Outage), (readiness.State.Ready, readiness.State.Reason));
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Queued, i.Status));
        Assert.Equal(1, await seeded.Queue.GetApproximateCountAsync(Ct));
        Assert.Equal(0, await seeded.Backend.Queues.GetQueue(seeded.Queue.PoisonQueueName).GetApproximateCountAsync(Ct));
        Assert.Empty(await seeded.Queue.ReceiveAsync(1, TimeSpan.FromMinutes(1), Ct)); // hidden for the recheck delay
    }

    [Fact]
    public async Task Handle_BatchOutlastingThirdsOfItsLease_ExtendsIt_AndDeletesWithTheNewestReceipt()
    {
        var seeded = await SeedAsync(hostile: false);
        var counting = new ExtensionCountingQueue(seeded.Queue, extensionsToWaitFor: 2);
        // Downloads wait until the lease has been extended twice: the first receipt is stale by the end.
        var gated = new GatedBlobStore(seeded.Backend.Blobs, counting.Extended);
        var options = Options();
        options.VisibilityTimeout = TimeSpan.FromSeconds(3);
        var message = await SendAndReceiveAsync(counting, LabelMessage.Create([.. seeded.Ids.Values]).ToJson());

        var outcome = await Handler(seeded.Backend, options, imageBlobs: gated).HandleAsync(message, counting, Ct);

        Assert.Equal(LabelBatchOutcome.Completed, outcome);
        Assert.True(counting.Extensions >= 2);
        Assert.Equal(0, await seeded.Queue.GetApproximateCountAsync(Ct));
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Labelled, i.Status));
    }

    private LabelWorker Worker(LabelBatchBackend backend, IWorkQueue queue, IBlobStore? imageBlobs = null, int concurrency = 2) =>
        WorkerAndGate(backend, queue, imageBlobs, concurrency).Worker;

    private (LabelWorker Worker, LabelReadiness Readiness) WorkerAndGate(
        LabelBatchBackend backend, IWorkQueue queue, IBlobStore? imageBlobs = null, int concurrency = 2, TimeSpan? recheck = null)
    {
        var options = Options();
        var (handler, readiness) = Parts(backend, options, imageBlobs: imageBlobs, recheck: recheck ?? TimeSpan.FromMilliseconds(20));
        var worker = new LabelWorker(
            queue, handler, readiness, Microsoft.Extensions.Options.Options.Create(WorkerOptions(readiness.RecheckDelay, concurrency)),
            Microsoft.Extensions.Options.Options.Create(options), NullLogger<LabelWorker>.Instance);
        return (worker, readiness);
    }

    [Fact]
    public async Task Worker_HandlesEveryMessageOnTheQueue_AndStopsWhenCancelled()
    {
        var seeded = await SeedAsync(hostile: false);
        var ids = seeded.Ids.Values.ToList();
        var queue = new ExtensionCountingQueue(seeded.Queue, extensionsToWaitFor: int.MaxValue, deletesToWaitFor: 3);
        foreach (var chunk in ids.Chunk(2))
        {
            await queue.SendAsync(LabelMessage.Create(chunk).ToJson(), null, Ct);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = Worker(seeded.Backend, queue).RunAsync(stop.Token);
        await queue.Deleted.WaitAsync(Ct);
        await stop.CancelAsync();
        await run;

        Assert.All(await seeded.Backend.Store.GetImagesAsync(ids, Ct), i => Assert.Equal(ImageStatus.Labelled, i.Status));
        Assert.Equal(0, await seeded.Queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Worker_OnShutdown_ReleasesTheMessageInFlight()
    {
        var seeded = await SeedAsync(hostile: false);
        var never = new TaskCompletionSource();
        var gated = new GatedBlobStore(seeded.Backend.Blobs, never.Task);
        var body = LabelMessage.Create([.. seeded.Ids.Values]).ToJson();
        await seeded.Queue.SendAsync(body, null, Ct);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = Worker(seeded.Backend, seeded.Queue, gated, concurrency: 1).RunAsync(stop.Token);
        await gated.Entered.WaitAsync(Ct);
        await stop.CancelAsync();
        await run;

        // Visible again at once (not after its 5-minute lease), one delivery further on.
        var again = Assert.Single(await seeded.Queue.ReceiveAsync(1, TimeSpan.FromMinutes(1), Ct));
        Assert.Equal((body, 2L), (again.Body, again.DequeueCount));
        Assert.All(await seeded.Backend.Store.GetImagesAsync([.. seeded.Ids.Values], Ct), i => Assert.Equal(ImageStatus.Queued, i.Status));
    }
}
