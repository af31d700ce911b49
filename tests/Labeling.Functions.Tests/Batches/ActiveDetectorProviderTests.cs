using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Functions.Batches;
using Labeling.Labels;
using Labeling.Sql;
using Labeling.Testing;
using Labeling.Vocabulary;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Batches;

/// <summary>The active-model provider on the embedded stack (SQLite labels, local folder blobs).</summary>
public sealed class ActiveDetectorProviderTests : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly TempFolder _folder = new();
    private readonly LabelsDatabase _database;
    private readonly SqliteLabelStore _store;
    private readonly LocalFolderBlobStore _blobs;

    public ActiveDetectorProviderTests()
    {
        _database = _folder.CreateMigratedSqlite("labels.db");
        _store = new SqliteLabelStore(_database);
        _blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions { RootPath = Path.Combine(_folder.Path, "blobs"), Container = "models", FlushToDisk = false }));
    }

    private ActiveDetectorProvider Provider() => new(
        _store, _blobs, Options.Create(new LabelBatchOptions { ModelCacheFolder = Path.Combine(_folder.Path, "cache") }),
        Options.Create(new DetectorOptions { IntraOpThreads = 1 }), NullLogger<ActiveDetectorProvider>.Instance);

    private async Task<string> UploadModelAsync(string blobName, string space = "hashbow-8")
    {
        await _blobs.CreateIfNotExistsAsync(Ct);
        var path = Path.Combine(_folder.Path, $"{Guid.NewGuid():N}.onnx");
        DetectorModels.ConstantRegionEmbedding(path, new float[,] { { 0, 0, 64, 64 } }, [0.5f], new float[1, 8] { { 1, 0, 0, 0, 0, 0, 0, 0 } }, new DetectorModels.RegionSettings { Space = space });
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        using var content = new MemoryStream(bytes);
        await _blobs.WriteAsync(blobName, content, overwrite: true, Ct);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private async Task RegisterAndActivateAsync(string version, string blobName, string sha, string space = "hashbow-8")
    {
        await _store.RegisterModelAsync(new NewModel(version, DetectorInfo.RegionEmbeddingContract, blobName, sha, space), Ct);
        await _store.ActivateModelAsync(version, Ct);
    }

    [Fact]
    public async Task Acquire_WithoutAnActiveModel_SaysSo()
    {
        using var provider = Provider();

        var e = await Assert.ThrowsAsync<ActiveModelException>(() => provider.AcquireAsync(Ct));

        Assert.Contains("No model is active", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquire_LoadsTheActiveModel_WithAnEncoderOfItsSpace_AndCachesItPerVersion()
    {
        var sha = await UploadModelAsync("models/v1.onnx");
        await RegisterAndActivateAsync("v1", "models/v1.onnx", sha);
        using var provider = Provider();

        using var first = await provider.AcquireAsync(Ct);
        using var second = await provider.AcquireAsync(Ct);

        Assert.Equal("v1", first.Model.Version);
        Assert.Equal("hashbow-8", first.Encoder!.Space);
        Assert.Equal(new HashBowEncoder(8).Encode("red fox"), first.Encoder.Encode("Red_Fox"));
        Assert.Same(first.Detector, second.Detector);
        Assert.True(File.Exists(Path.Combine(_folder.Path, "cache", sha + ".onnx")));
    }

    [Fact]
    public async Task Acquire_AfterAnotherModelIsActivated_SwapsToIt_WhileTheOldLeaseKeepsWorking()
    {
        var sha1 = await UploadModelAsync("models/v1.onnx");
        await RegisterAndActivateAsync("v1", "models/v1.onnx", sha1);
        using var provider = Provider();
        using var old = await provider.AcquireAsync(Ct);
        var sha2 = await UploadModelAsync("models/v2.onnx");
        await RegisterAndActivateAsync("v2", "models/v2.onnx", sha2);

        using var current = await provider.AcquireAsync(Ct);

        Assert.Equal(("v1", "v2"), (old.Model.Version, current.Model.Version));
        Assert.NotSame(old.Detector, current.Detector);
        // The replaced detector is disposed only when its last lease is: it still answers now.
        var image = new global::Labeling.Imaging.DecodedImage(8, 8, 8, 8, "test", new byte[8 * 8 * 3]);
        var vocabulary = global::Labeling.Vocabulary.Vocabulary.Create(old.Encoder!, ["cat"]);
        Assert.Single(old.Detector.Detect([image], new DetectionRequest { Vocabulary = vocabulary, ScoreThreshold = 0 }, Ct)[0].Proposals);
    }

    [Fact]
    public async Task Acquire_NewActiveModelThatCannotLoad_KeepsThePreviousOne_ReportsIt_AndSwapsOnceAGoodOneIsActive()
    {
        await RegisterAndActivateAsync("v1", "models/v1.onnx", await UploadModelAsync("models/v1.onnx"));
        using var provider = Provider();
        using (var first = await provider.AcquireAsync(Ct))
        {
            Assert.Equal("v1", first.Model.Version);
        }

        // v2's registered hash does not match its file (a half-written upload, say).
        await UploadModelAsync("models/v2.onnx");
        await RegisterAndActivateAsync("v2", "models/v2.onnx", new string('b', 64));

        using (var kept = await provider.AcquireAsync(Ct))
        using (var again = await provider.AcquireAsync(Ct))
        {
            Assert.Equal(("v1", "v1"), (kept.Model.Version, again.Model.Version));
        }

        Assert.Equal("v2", provider.LastLoadFailure?.Version);
        Assert.Contains("refusing to load it", provider.LastLoadFailure!.Reason, StringComparison.Ordinal);
        Assert.Equal(new ActiveDetectorState("v1", provider.LastLoadFailure), provider.State);

        await RegisterAndActivateAsync("v3", "models/v3.onnx", await UploadModelAsync("models/v3.onnx"));
        using var swapped = await provider.AcquireAsync(Ct);
        Assert.Equal("v3", swapped.Model.Version);
        Assert.Null(provider.LastLoadFailure);
        Assert.Equal(new ActiveDetectorState("v3", null), provider.State);
    }

    [Fact]
    public async Task Acquire_FileNotMatchingTheRegisteredSha256_IsRefused()
    {
        await UploadModelAsync("models/v1.onnx");
        await RegisterAndActivateAsync("v1", "models/v1.onnx", new string('a', 64));
        using var provider = Provider();

        var e = await Assert.ThrowsAsync<ActiveModelException>(() => provider.AcquireAsync(Ct));

        Assert.Contains("refusing to load it", e.Message, StringComparison.Ordinal);
        Assert.Contains(new string('a', 64), e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder.Path, "cache")));
    }

    [Fact]
    public async Task Acquire_ModelInASpaceWithoutAnEncoder_IsRefusedClearly()
    {
        var sha = await UploadModelAsync("models/v1.onnx", space: "clip-vit-b32");
        await RegisterAndActivateAsync("v1", "models/v1.onnx", sha, space: "clip-vit-b32");
        using var provider = Provider();

        var e = await Assert.ThrowsAsync<ActiveModelException>(() => provider.AcquireAsync(Ct));

        Assert.Contains("No text encoder for embedding space 'clip-vit-b32'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquire_ModelFileMissingFromBlobs_SaysWhichBlob()
    {
        await _blobs.CreateIfNotExistsAsync(Ct);
        await RegisterAndActivateAsync("v1", "models/nowhere.onnx", new string('b', 64));
        using var provider = Provider();

        var e = await Assert.ThrowsAsync<ActiveModelException>(() => provider.AcquireAsync(Ct));

        Assert.Contains("models/nowhere.onnx", e.Message, StringComparison.Ordinal);
    }

    private async Task<string> UploadFileAsync(string blobName, string path)
    {
        await _blobs.CreateIfNotExistsAsync(Ct);
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        using var content = new MemoryStream(bytes);
        await _blobs.WriteAsync(blobName, content, overwrite: true, Ct);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    [Fact]
    public async Task Acquire_ActiveModelWithExternalData_IsUnusable_EvenWithItsDataFileBesideTheCachedCopy()
    {
        // The data file sits where the worker's copy lands, so ONNX Runtime would find it: only our check refuses.
        var cache = Directory.CreateDirectory(Path.Combine(_folder.Path, "cache")).FullName;
        var path = HostileModels.Detector(Path.Combine(_folder.Path, "external.onnx"));
        HostileModels.MoveToExternalData(path, "boxes_const", "boxes_const.bin", dataFolder: cache);
        await RegisterAndActivateAsync("v1", "models/v1.onnx", await UploadFileAsync("models/v1.onnx", path));
        using var provider = Provider();

        var e = await Assert.ThrowsAsync<ActiveModelException>(() => provider.AcquireAsync(Ct));

        Assert.Equal(
            "Model v1 ('models/v1.onnx') cannot be loaded: models/v1.onnx: initializer 'boxes_const' stores its data outside the file (external data, location 'boxes_const.bin'), which is refused.",
            e.Message);
    }

    [Fact]
    public async Task Acquire_NewActiveModelWithAForeignOperator_KeepsThePreviousOne_AndReportsWhy()
    {
        await RegisterAndActivateAsync("v1", "models/v1.onnx", await UploadModelAsync("models/v1.onnx"));
        using var provider = Provider();
        using (var first = await provider.AcquireAsync(Ct))
        {
            Assert.Equal("v1", first.Model.Version);
        }

        var path = HostileModels.Detector(Path.Combine(_folder.Path, "foreign.onnx"));
        HostileModels.RouteOutputThrough(path, "objectness", "com.microsoft", "Gelu");
        await RegisterAndActivateAsync("v2", "models/v2.onnx", await UploadFileAsync("models/v2.onnx", path));

        using var kept = await provider.AcquireAsync(Ct);

        Assert.Equal("v1", kept.Model.Version);
        Assert.Equal("v2", provider.LastLoadFailure?.Version);
        Assert.Equal(
            "Model v2 ('models/v2.onnx') cannot be loaded: models/v2.onnx: node 'Gelu_objectness' runs operator 'Gelu' of domain 'com.microsoft', which is refused: a detector model uses the standard ONNX operators (domain ai.onnx) only.",
            provider.LastLoadFailure!.Reason);
    }

    [Fact]
    public async Task Acquire_ModelOverMaxModelBytes_IsRefusedFromTheBlobSize_WithoutDownloadingIt()
    {
        var sha = await UploadModelAsync("models/v1.onnx");
        await RegisterAndActivateAsync("v1", "models/v1.onnx", sha);
        var size = (await _blobs.GetPropertiesAsync("models/v1.onnx", Ct))!.Size;
        // Bound from configuration as the worker host does.
        var detector = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Detector:IntraOpThreads"] = "1", ["Detector:MaxModelBytes"] = (size - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) })
            .Build().GetSection(DetectorOptions.Section).Get<DetectorOptions>()!;
        using var provider = new ActiveDetectorProvider(
            _store, _blobs, Options.Create(new LabelBatchOptions { ModelCacheFolder = Path.Combine(_folder.Path, "cache") }), Options.Create(detector), NullLogger<ActiveDetectorProvider>.Instance);

        var e = await Assert.ThrowsAsync<ActiveModelException>(() => provider.AcquireAsync(Ct));

        Assert.Equal(
            $"Model v1 ('models/v1.onnx') cannot be loaded: models/v1.onnx: the file is {N0(size)} bytes, over the limit of {N0(size - 1)} bytes (Detector:MaxModelBytes), which is refused.",
            e.Message);
        Assert.Empty(Directory.Exists(Path.Combine(_folder.Path, "cache")) ? Directory.GetFiles(Path.Combine(_folder.Path, "cache")) : []);
    }

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync();
        _folder.Dispose();
    }

    private static string N0(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
