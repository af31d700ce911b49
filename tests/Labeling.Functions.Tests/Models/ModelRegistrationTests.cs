using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Functions.Models;
using Labeling.Labels;
using Labeling.Sql;
using Labeling.Testing;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Models;

/// <summary>Registering a model file, on the embedded stack (SQLite registry, local folder blobs).</summary>
public sealed class ModelRegistrationTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TempFolder _folder = new();
    private readonly ILabelStore _store;
    private readonly IBlobStore _blobs;

    public ModelRegistrationTests()
    {
        _store = new SqliteLabelStore(_folder.CreateMigratedSqlite());
        _blobs = new LocalFolderBlobStore(Options.Create(new LocalBlobStoreOptions { RootPath = Path.Combine(_folder.Path, "blobs"), FlushToDisk = false }));
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task RegisterFile_UploadsTheExactBytes_RecordsTheirHash_AndActivatesWhenAsked()
    {
        var file = PersonUnicornModel.Write(_folder.Path);

        var model = await ModelRegistration.RegisterFileAsync(_store, _blobs, file, "v1", activate: true, Ct);

        var bytes = await File.ReadAllBytesAsync(file, Ct);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), model.Sha256);
        Assert.Equal("models/v1.onnx", model.BlobName);
        await using (var stored = await _blobs.OpenReadAsync(model.BlobName, Ct))
        using (var copy = new MemoryStream())
        {
            await stored.CopyToAsync(copy, Ct);
            Assert.Equal(bytes, copy.ToArray());
        }

        var record = await _store.GetModelAsync("v1", Ct);
        Assert.NotNull(record);
        Assert.Equal(ModelStatus.Active, record.Status);
        Assert.Equal(model.Sha256, record.Sha256);
        Assert.Equal(PersonUnicornModel.Encoder.Space, record.EmbeddingSpace);
    }

    [Fact]
    public async Task RegisterFile_WithoutActivate_LeavesTheActiveModelAlone()
    {
        await ModelRegistration.RegisterFileAsync(_store, _blobs, PersonUnicornModel.Write(_folder.Path), "v1", activate: true, Ct);

        await ModelRegistration.RegisterFileAsync(_store, _blobs, PersonUnicornModel.Write(_folder.Path), "v2", activate: false, Ct);

        Assert.Equal("v1", (await _store.GetActiveModelAsync(Ct))?.Version);
        Assert.Equal(ModelStatus.Candidate, (await _store.GetModelAsync("v2", Ct))?.Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../v1")]
    [InlineData("v 1")]
    [InlineData("v1/onnx")]
    [InlineData("vé")]
    public async Task RegisterFile_BadVersion_IsRefused_AndNothingIsWritten(string version)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ModelRegistration.RegisterFileAsync(_store, _blobs, PersonUnicornModel.Write(_folder.Path), version, activate: true, Ct));

        Assert.Contains("letters, digits", error.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ListModelsAsync(Ct));
    }

    [Fact]
    public async Task RegisterFile_NotADetector_IsRefused_AndNothingIsUploaded()
    {
        var file = Path.Combine(_folder.Path, "garbage.onnx");
        await File.WriteAllBytesAsync(file, [1, 2, 3, 4, 5, 6, 7, 8], Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ModelRegistration.RegisterFileAsync(_store, _blobs, file, "v1", activate: true, Ct));

        Assert.Contains("is not a detector model", error.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ListModelsAsync(Ct));
        Assert.Null(await _blobs.GetPropertiesAsync("models/v1.onnx", Ct));
    }

    [Fact]
    public async Task RegisterFile_MissingFile_SaysWhich()
    {
        var missing = Path.Combine(_folder.Path, "nope.onnx");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ModelRegistration.RegisterFileAsync(_store, _blobs, missing, "v1", activate: true, Ct));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisterFile_TakenVersion_IsRefused_AndTheRegisteredBlobIsKept()
    {
        var first = await ModelRegistration.RegisterFileAsync(_store, _blobs, PersonUnicornModel.Write(_folder.Path), "v1", activate: true, Ct);
        var other = Path.Combine(_folder.Path, "other.onnx");
        await File.WriteAllBytesAsync(other, [.. await File.ReadAllBytesAsync(PersonUnicornModel.Write(_folder.Path), Ct)], Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ModelRegistration.RegisterFileAsync(_store, _blobs, other, "v1", activate: false, Ct));

        Assert.Contains("registered already", error.Message, StringComparison.Ordinal);
        Assert.Equal(first.Sha256, (await _store.GetModelAsync("v1", Ct))?.Sha256);
        Assert.Single(await _store.ListModelsAsync(Ct));
    }

    [Fact]
    public async Task RegisterFile_UploadThatReadsBackDifferently_IsNotRegistered()
    {
        var corrupting = new CorruptingBlobStore(_blobs);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ModelRegistration.RegisterFileAsync(_store, corrupting, PersonUnicornModel.Write(_folder.Path), "v1", activate: true, Ct));

        Assert.Contains("reads back with sha256", error.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ListModelsAsync(Ct));
        Assert.Null(await _store.GetActiveModelAsync(Ct));
    }

    [Fact]
    public async Task RegisterFile_SwappedForAnotherFileAfterItWasChecked_UploadsAndHashesTheBytesThatWereChecked()
    {
        var file = PersonUnicornModel.Write(_folder.Path);
        var checkedBytes = await File.ReadAllBytesAsync(file, Ct);
        var hostile = HostileModels.Detector(Path.Combine(_folder.Path, "hostile.onnx"));
        HostileModels.MoveToExternalData(hostile, "boxes_const", "boxes_const.bin");
        // The registry is asked whether the version is free only after the file was checked: swap the file then.
        var swapping = SwapOnVersionLookup.Create(_store, () => File.Copy(hostile, file, overwrite: true));

        var model = await ModelRegistration.RegisterFileAsync(swapping, _blobs, file, "v1", activate: true, Ct);

        Assert.NotEqual(checkedBytes, await File.ReadAllBytesAsync(file, Ct)); // the swap happened
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(checkedBytes)), model.Sha256);
        await using var stored = await _blobs.OpenReadAsync(model.BlobName, Ct);
        using var copy = new MemoryStream();
        await stored.CopyToAsync(copy, Ct);
        Assert.Equal(checkedBytes, copy.ToArray());
    }

    /// <summary>A real label store that runs an action the first time a model version is looked up.</summary>
    public class SwapOnVersionLookup : System.Reflection.DispatchProxy
    {
        private ILabelStore _inner = null!;
        private Action? _onLookup;

        public static ILabelStore Create(ILabelStore inner, Action onLookup)
        {
            var proxy = Create<ILabelStore, SwapOnVersionLookup>();
            var swap = (SwapOnVersionLookup)(object)proxy;
            swap._inner = inner;
            swap._onLookup = onLookup;
            return proxy;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(ILabelStore.GetModelAsync))
            {
                Interlocked.Exchange(ref _onLookup, null)?.Invoke();
            }

            return targetMethod.Invoke(_inner, args);
        }
    }

    /// <summary>A real store whose writes lose their last byte (a truncated upload the storage reported as done).</summary>
    private sealed class CorruptingBlobStore(IBlobStore inner) : IBlobStore
    {
        public string Container => inner.Container;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) =>
            inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

        public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken) => inner.OpenReadAsync(name, cancellationToken);

        public async Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken)
        {
            using var buffer = new MemoryStream();
            await content.CopyToAsync(buffer, cancellationToken);
            using var truncated = new MemoryStream(buffer.ToArray()[..^1]);
            return await inner.WriteAsync(name, truncated, overwrite, cancellationToken);
        }

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);
    }
}
