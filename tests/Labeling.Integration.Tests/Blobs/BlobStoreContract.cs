using System.Security.Cryptography;
using System.Text;
using Labeling.Blobs;

namespace Labeling.Integration.Tests.Blobs;

/// <summary>What every <see cref="IBlobStore"/> must do. Each implementation's test class derives from this.</summary>
public abstract class BlobStoreContract
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new, empty store with a container of its own.</summary>
    protected abstract Task<IBlobStore> CreateStoreAsync();

    protected static string UniqueContainer() => "c" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<BlobItem> WriteTextAsync(IBlobStore store, string name, string text, bool overwrite = false)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        return await store.WriteAsync(name, stream, overwrite, Ct);
    }

    private static async Task<byte[]> ReadAllAsync(IBlobStore store, string name)
    {
        await using var stream = await store.OpenReadAsync(name, Ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    private static async Task<List<string>> ListNamesAsync(IBlobStore store, string prefix, string? startAfter = null, int pageSize = 100)
    {
        var names = new List<string>();
        await foreach (var item in store.ListAsync(prefix, startAfter, pageSize, Ct))
        {
            names.Add(item.Name);
        }

        return names;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5 * 1024 * 1024 + 17)]
    public async Task Write_ThenRead_ReturnsSameBytesSizeAndMd5(int size)
    {
        var store = await CreateStoreAsync();
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);

        using var input = new MemoryStream(bytes);
        var written = await store.WriteAsync("inbox/ds/blob.bin", input, overwrite: false, Ct);

        Assert.Equal(bytes, await ReadAllAsync(store, "inbox/ds/blob.bin"));
        var expectedMd5 = Convert.ToHexStringLower(MD5.HashData(bytes));
        Assert.Equal(size, written.Size);
        Assert.Equal(expectedMd5, written.ContentMd5);
        var properties = await store.GetPropertiesAsync("inbox/ds/blob.bin", Ct);
        Assert.NotNull(properties);
        Assert.Equal(size, properties.Size);
        Assert.Equal(expectedMd5, properties.ContentMd5);
        Assert.Equal(written.ETag, properties.ETag);
    }

    [Fact]
    public async Task Write_WithoutOverwrite_WhenBlobExists_ThrowsAndKeepsOriginal()
    {
        var store = await CreateStoreAsync();
        await WriteTextAsync(store, "a/b.txt", "first");

        var error = await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => WriteTextAsync(store, "a/b.txt", "second"));

        Assert.Contains("a/b.txt", error.Message, StringComparison.Ordinal);
        Assert.Equal("first", Encoding.UTF8.GetString(await ReadAllAsync(store, "a/b.txt")));
    }

    [Fact]
    public async Task Write_WithOverwrite_ReplacesContentAndChangesETag()
    {
        var store = await CreateStoreAsync();
        var first = await WriteTextAsync(store, "a/b.txt", "first");

        var second = await WriteTextAsync(store, "a/b.txt", "second, longer", overwrite: true);

        Assert.Equal("second, longer", Encoding.UTF8.GetString(await ReadAllAsync(store, "a/b.txt")));
        Assert.NotEqual(first.ETag, second.ETag);
        Assert.NotEqual(first.ContentMd5, second.ContentMd5);
    }

    [Fact]
    public async Task MissingBlob_ReadThrowsNotFound_PropertiesNull_DeleteFalse()
    {
        var store = await CreateStoreAsync();

        var error = await Assert.ThrowsAsync<BlobNotFoundException>(() => store.OpenReadAsync("no/such.jpg", Ct));
        Assert.Contains("no/such.jpg", error.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetPropertiesAsync("no/such.jpg", Ct));
        Assert.False(await store.DeleteAsync("no/such.jpg", Ct));
    }

    [Fact]
    public async Task Delete_RemovesBlob()
    {
        var store = await CreateStoreAsync();
        await WriteTextAsync(store, "x/y.txt", "y");

        Assert.True(await store.DeleteAsync("x/y.txt", Ct));

        Assert.Null(await store.GetPropertiesAsync("x/y.txt", Ct));
        Assert.Empty(await ListNamesAsync(store, "x/"));
    }

    [Fact]
    public async Task List_ByPrefix_ReturnsOnlyMatchingNames_InUtf8ByteOrder()
    {
        var store = await CreateStoreAsync();
        string[] names =
        [
            "inbox/ds/a-b.jpg", "inbox/ds/a/b.jpg", "inbox/ds/a.jpg", "inbox/ds/B.jpg", "inbox/ds/z/z/z.jpg",
            // Azurite orders names by UTF-16 units, Azure and the folder store by UTF-8 bytes; the two
            // agree unless U+E000–U+FFFF meets a non-BMP character, so the names here avoid that mix.
            "inbox/ds/caf\u00e9.jpg", "inbox/ds/\u4e2d.jpg", "inbox/ds/\U0001F98A.jpg",
            "inbox/dt/other.jpg", "inbox/ds2/x.jpg", "models/m.onnx",
        ];
        foreach (var name in names)
        {
            await WriteTextAsync(store, name, name);
        }

        var listed = await ListNamesAsync(store, "inbox/ds/");

        var expected = names.Where(n => n.StartsWith("inbox/ds/", StringComparison.Ordinal))
            .OrderBy(n => Encoding.UTF8.GetBytes(n), ByteOrder.Instance).ToList();
        Assert.Equal(expected, listed);
        // A partial last segment is a plain string prefix, as in Azure.
        Assert.Equal(["inbox/ds/z/z/z.jpg"], await ListNamesAsync(store, "inbox/ds/z"));
        Assert.Equal(["inbox/ds2/x.jpg"], await ListNamesAsync(store, "inbox/ds2"));
        Assert.Equal(names.Length, (await ListNamesAsync(store, "")).Count);
        Assert.Empty(await ListNamesAsync(store, "nothing/here/"));
    }

    [Fact]
    public async Task List_StartAfterCheckpoint_ResumesStrictlyAfterIt()
    {
        var store = await CreateStoreAsync();
        var names = Enumerable.Range(0, 12).Select(i => $"inbox/ds/{(char)('a' + (i % 3))}/{i:D3}.jpg").ToList();
        foreach (var name in names)
        {
            await WriteTextAsync(store, name, name);
        }

        var all = await ListNamesAsync(store, "inbox/");
        var checkpoint = all[4];

        var resumed = await ListNamesAsync(store, "inbox/", startAfter: checkpoint);

        Assert.Equal(all.Skip(5), resumed);
        // A checkpoint that is no longer a blob (deleted since) still resumes at the right place.
        Assert.Equal(all.Skip(5), await ListNamesAsync(store, "inbox/", startAfter: checkpoint + "0"));
        Assert.Equal(all.Where(n => string.CompareOrdinal(n, "inbox/ds/b") > 0), await ListNamesAsync(store, "inbox/", startAfter: "inbox/ds/b"));
        Assert.Empty(await ListNamesAsync(store, "inbox/", startAfter: all[^1]));
    }

    [Fact]
    public async Task List_WithPagesSmallerThanResult_StreamsEveryBlobOnce()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 23; i++)
        {
            await WriteTextAsync(store, $"p/{i:D2}.txt", "x");
        }

        var listed = await ListNamesAsync(store, "p/", pageSize: 4);

        Assert.Equal(Enumerable.Range(0, 23).Select(i => $"p/{i:D2}.txt"), listed);
    }

    [Theory]
    [InlineData("inbox/ds/it's; DROP TABLE images; --.jpg")]
    [InlineData("inbox/ds/with space & plus+hash#percent%20?.png")]
    [InlineData("inbox/\u00e9t\u00e9/\u72d0\u72f8 \U0001F98A.jpg")]
    [InlineData("inbox/ds/.hidden.jpg")]
    public async Task OddButValidNames_RoundTrip(string name)
    {
        var store = await CreateStoreAsync();

        await WriteTextAsync(store, name, "content");

        Assert.Equal("content", Encoding.UTF8.GetString(await ReadAllAsync(store, name)));
        Assert.Equal([name], await ListNamesAsync(store, ""));
        Assert.True(await store.DeleteAsync(name, Ct));
    }

    public static TheoryData<string> HostileNames() =>
    [
        "../escape.txt",
        "inbox/../../escape.txt",
        "inbox/./a.jpg",
        "/etc/passwd",
        "inbox\\ds\\a.jpg",
        "inbox//a.jpg",
        "inbox/a.jpg/",
        "inbox/dot.",
        "..",
        "",
        "inbox/nul\0.jpg",
        "inbox/bell\u0007.jpg",
        "inbox/newline\n.jpg",
        new string('a', 1025),
        "inbox/" + new string('b', 256),
        "inbox/cafe\u0301.jpg",
    ];

    [Theory]
    [MemberData(nameof(HostileNames), DisableDiscoveryEnumeration = true)] // control characters do not belong in test names or TRX
    public async Task HostileNames_AreRefusedWithAClearError_ForEveryOperation(string name)
    {
        var store = await CreateStoreAsync();

        var write = await Assert.ThrowsAsync<InvalidBlobNameException>(() => WriteTextAsync(store, name, "x"));
        Assert.StartsWith("Invalid blob name", write.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\0', write.Message);
        await Assert.ThrowsAsync<InvalidBlobNameException>(() => store.OpenReadAsync(name, Ct));
        await Assert.ThrowsAsync<InvalidBlobNameException>(() => store.DeleteAsync(name, Ct));
        await Assert.ThrowsAsync<InvalidBlobNameException>(() => store.GetPropertiesAsync(name, Ct));
        Assert.Empty(await ListNamesAsync(store, ""));
    }

    [Fact]
    public async Task HostilePrefix_IsRefused()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<InvalidBlobNameException>(() => ListNamesAsync(store, "../"));
        await Assert.ThrowsAsync<InvalidBlobNameException>(() => ListNamesAsync(store, "/abs/"));
    }

    [Fact]
    public async Task ConcurrentWriters_OfDistinctBlobs_AllLand()
    {
        var store = await CreateStoreAsync();

        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct },
            async (i, _) => await WriteTextAsync(store, $"par/{i:D2}.txt", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var listed = await ListNamesAsync(store, "par/");
        Assert.Equal(40, listed.Count);
        Assert.Equal("17", Encoding.UTF8.GetString(await ReadAllAsync(store, "par/17.txt")));
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
