using System.Text;
using Labeling.Blobs;
using Microsoft.Extensions.Options;

namespace Labeling.Integration.Tests.Blobs;

/// <summary>The blob store contract on the local folder store, plus what only a folder can get wrong.</summary>
public sealed class LocalFolderBlobStoreTests : BlobStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IBlobStore> CreateStoreAsync()
    {
        var store = Create(UniqueContainer());
        await store.CreateIfNotExistsAsync(Ct);
        return store;
    }

    private LocalFolderBlobStore Create(string container) =>
        new(Options.Create(new LocalBlobStoreOptions { RootPath = Path.Combine(_folder.Path, "blobs"), Container = container, FlushToDisk = false }));

    [Fact]
    public async Task SymbolicLinkInsideContainer_IsNeverFollowed()
    {
        var store = Create("linked");
        await store.CreateIfNotExistsAsync(Ct);
        var outside = Path.Combine(_folder.Path, "outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "secret", Ct);
        Directory.CreateSymbolicLink(Path.Combine(_folder.Path, "blobs", "linked", "escape"), outside);

        await Assert.ThrowsAsync<InvalidBlobNameException>(() => store.OpenReadAsync("escape/secret.txt", Ct));
        using var content = new MemoryStream(Encoding.UTF8.GetBytes("overwrite"));
        await Assert.ThrowsAsync<InvalidBlobNameException>(() => store.WriteAsync("escape/new.txt", content, overwrite: true, Ct));
        var listed = new List<string>();
        await foreach (var item in store.ListAsync("", null, 10, Ct))
        {
            listed.Add(item.Name);
        }

        Assert.Empty(listed);
        Assert.False(File.Exists(Path.Combine(outside, "new.txt")));
        Assert.Equal("secret", await File.ReadAllTextAsync(Path.Combine(outside, "secret.txt"), Ct));
    }

    [Fact]
    public async Task Write_LeavesNoStagingFilesBehind_EvenWhenTheSourceStreamFails()
    {
        var store = Create("staging");
        await store.CreateIfNotExistsAsync(Ct);

        await Assert.ThrowsAsync<IOException>(() => store.WriteAsync("a/broken.bin", new FailingStream(), overwrite: false, Ct));
        using var ok = new MemoryStream([1, 2, 3]);
        await store.WriteAsync("a/ok.bin", ok, overwrite: false, Ct);

        Assert.Empty(Directory.GetFiles(Path.Combine(_folder.Path, "blobs", ".staging")));
        Assert.Null(await store.GetPropertiesAsync("a/broken.bin", Ct));
    }

    [Fact]
    public void InvalidContainerName_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => Create("../up"));
        Assert.Throws<ArgumentException>(() => Create("UPPER"));
    }

    public void Dispose() => _folder.Dispose();

    private sealed class FailingStream : MemoryStream
    {
        private int _reads;

        public FailingStream()
            : base(new byte[100_000])
        {
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ++_reads > 1 ? throw new IOException("source went away") : base.ReadAsync(buffer, cancellationToken);
    }
}
