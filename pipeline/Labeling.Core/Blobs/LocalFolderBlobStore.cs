using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Labeling.Blobs;

/// <summary>
/// <see cref="IBlobStore"/> over a local folder: <c>{root}/{container}/{name}</c>. Writes go to
/// <c>{root}/.staging</c> first and are renamed into place, so readers never see half a file.
/// Names are validated and resolved paths checked, and symbolic links are never followed, so
/// nothing outside the container folder is read or written.
/// </summary>
internal sealed class LocalFolderBlobStore : IBlobStore
{
    private static readonly StringComparer NameOrder = Comparer.Instance;
    private readonly string _root;
    private readonly string _containerDir;
    private readonly string _stagingDir;
    private readonly bool _flush;

    public LocalFolderBlobStore(IOptions<LocalBlobStoreOptions> options)
    {
        var o = options.Value;
        ContainerName.Validate(o.Container);
        Container = o.Container;
        _root = Path.GetFullPath(o.RootPath);
        _containerDir = Path.Combine(_root, o.Container);
        _stagingDir = Path.Combine(_root, ".staging");
        _flush = o.FlushToDisk;
    }

    public string Container { get; }

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_containerDir);
        Directory.CreateDirectory(_stagingDir);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<BlobItem> ListAsync(
        string prefix, string? startAfter, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        BlobName.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);

        // Start at the deepest folder the prefix names in full; a partial last segment filters its entries.
        var slash = prefix.LastIndexOf('/');
        var relDir = slash >= 0 ? prefix[..(slash + 1)] : string.Empty;
        var startDir = Path.Combine(_containerDir, relDir);
        if (!Directory.Exists(startDir) || HasLinkOnPath(startDir))
        {
            yield break;
        }

        var count = 0;
        foreach (var item in Walk(startDir, relDir, prefix, startAfter))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
            if (++count % pageSize == 0)
            {
                // Let other work run between pages, as a remote listing would.
                await Task.Yield();
            }
        }
    }

    // Depth-first walk in global name order: a folder "a" sorts as "a/", which is where all its
    // descendants sit among full names, so per-folder sorting yields exactly Azure's flat order.
    private IEnumerable<BlobItem> Walk(string dir, string rel, string prefix, string? startAfter)
    {
        List<(string Key, bool IsDir)> entries;
        try
        {
            entries = [];
            foreach (var info in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                if (info.LinkTarget is not null)
                {
                    continue; // never follow links out of the root
                }

                var isDir = info is DirectoryInfo;
                var key = rel + info.Name + (isDir ? "/" : string.Empty);
                var relevant = isDir
                    ? key.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(key, StringComparison.Ordinal)
                    : key.StartsWith(prefix, StringComparison.Ordinal);
                if (!relevant)
                {
                    continue;
                }

                if (startAfter is not null && NameOrder.Compare(key, startAfter) <= 0
                    && !(isDir && startAfter.StartsWith(key, StringComparison.Ordinal)))
                {
                    continue; // the entry, and for a folder all it holds, sorts before the checkpoint
                }

                entries.Add((key, isDir));
            }
        }
        catch (DirectoryNotFoundException)
        {
            yield break; // deleted while listing
        }

        entries.Sort((a, b) => NameOrder.Compare(a.Key, b.Key));
        foreach (var (key, isDir) in entries)
        {
            var path = Path.Combine(_containerDir, key);
            if (isDir)
            {
                foreach (var item in Walk(path, key, prefix, startAfter))
                {
                    yield return item;
                }
            }
            else
            {
                var file = new FileInfo(path);
                if (file.Exists)
                {
                    yield return ToItem(key, file, md5: null);
                }
            }
        }
    }

    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        var path = Resolve(name);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException && !File.Exists(path))
        {
            throw new BlobNotFoundException(Container, name, e);
        }
    }

    public async Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = Resolve(name);
        if (!overwrite && File.Exists(path))
        {
            throw new BlobAlreadyExistsException(Container, name);
        }

        Directory.CreateDirectory(_stagingDir);
        var staging = Path.Combine(_stagingDir, Guid.NewGuid().ToString("N"));
        byte[] md5;
        try
        {
            await using (var target = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
                var buffer = new byte[81920];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                md5 = hash.GetHashAndReset();
                if (_flush)
                {
                    target.Flush(flushToDisk: true);
                }
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            EnsureNoLinks(name, path);
            try
            {
                // Without overwrite this is link()+unlink(): atomic, and it fails if the name appeared meanwhile.
                File.Move(staging, path, overwrite);
            }
            catch (IOException e) when (!overwrite && File.Exists(path))
            {
                throw new BlobAlreadyExistsException(Container, name, e);
            }
        }
        finally
        {
            File.Delete(staging);
        }

        return ToItem(name, new FileInfo(path), Convert.ToHexStringLower(md5));
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var path = Resolve(name);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        return Task.FromResult(true);
    }

    public async Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken)
    {
        var path = Resolve(name);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return null;
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var md5 = await MD5.HashDataAsync(stream, cancellationToken);
        file.Refresh();
        return ToItem(name, file, Convert.ToHexStringLower(md5));
    }

    private string Resolve(string name)
    {
        BlobName.Validate(name);
        var path = Path.GetFullPath(Path.Combine(_containerDir, name));
        if (!path.StartsWith(_containerDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidBlobNameException(name, "it resolves outside the container");
        }

        EnsureNoLinks(name, path);
        return path;
    }

    private void EnsureNoLinks(string name, string path)
    {
        if (HasLinkOnPath(path))
        {
            throw new InvalidBlobNameException(name, "its path goes through a symbolic link");
        }
    }

    // True when the container folder or any existing component below it is a symbolic link.
    private bool HasLinkOnPath(string path)
    {
        var current = path.TrimEnd(Path.DirectorySeparatorChar);
        while (current.Length >= _containerDir.Length)
        {
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.Exists && info.LinkTarget is not null)
            {
                return true;
            }

            if (current.Length == _containerDir.Length)
            {
                break;
            }

            current = Path.GetDirectoryName(current)!;
        }

        return false;
    }

    private static BlobItem ToItem(string name, FileInfo file, string? md5)
    {
        var modified = new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero);
        var etag = $"\"{file.LastWriteTimeUtc.Ticks:x}-{file.Length:x}\"";
        return new BlobItem(name, file.Length, md5, etag, modified);
    }

    private sealed class Comparer : StringComparer
    {
        public static readonly Comparer Instance = new();

        public override int Compare(string? x, string? y) => BlobName.CompareOrdinalUtf8(x ?? string.Empty, y ?? string.Empty);

        public override bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public override int GetHashCode(string obj) => StringComparer.Ordinal.GetHashCode(obj);
    }
}
