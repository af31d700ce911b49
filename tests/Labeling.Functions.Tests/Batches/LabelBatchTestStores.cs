using System.Collections.Concurrent;
using Labeling.Blobs;
using Labeling.Queues;

namespace Labeling.Functions.Tests.Batches;

/// <summary>A real blob store whose reads of each blob fail with <see cref="IOException"/> the first <c>failuresPerBlob</c> times (a flaky network).</summary>
internal sealed class FlakyBlobStore(IBlobStore inner, int failuresPerBlob) : IBlobStore
{
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public string Container => inner.Container;

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

    public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) =>
        inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        var failed = _failures.AddOrUpdate(name, 1, (_, n) => n == int.MaxValue ? n : n + 1);
        return failed <= failuresPerBlob ? throw new IOException($"Connection reset while reading '{name}'.") : inner.OpenReadAsync(name, cancellationToken);
    }

    public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) => inner.WriteAsync(name, content, overwrite, cancellationToken);

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

    public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);
}

/// <summary>A real blob store whose reads wait for <c>gate</c> (to hold a batch open for as long as a test needs).</summary>
internal sealed class GatedBlobStore(IBlobStore inner, Task gate) : IBlobStore
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first read starts waiting.</summary>
    public Task Entered => _entered.Task;

    public string Container => inner.Container;

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

    public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) =>
        inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        _entered.TrySetResult();
        await gate.WaitAsync(cancellationToken);
        return await inner.OpenReadAsync(name, cancellationToken);
    }

    public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) => inner.WriteAsync(name, content, overwrite, cancellationToken);

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

    public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);
}

/// <summary>A real work queue that counts lease extensions and deletes, completing <see cref="Extended"/> and <see cref="Deleted"/> after the given numbers.</summary>
internal sealed class ExtensionCountingQueue(IWorkQueue inner, int extensionsToWaitFor, int deletesToWaitFor = 1) : IWorkQueue
{
    private readonly TaskCompletionSource _extended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _deleted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _extensions;
    private int _deletes;

    private int _receives;

    public Task Deleted => _deleted.Task;

    public Task Extended => _extended.Task;

    public int Extensions => Volatile.Read(ref _extensions);

    public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken) => inner.PeekAsync(maxMessages, cancellationToken);

    public string Name => inner.Name;

    public string PoisonQueueName => inner.PoisonQueueName;

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

    public Task<string> SendAsync(string body, TimeSpan? initialDelay, CancellationToken cancellationToken) => inner.SendAsync(body, initialDelay, cancellationToken);

    /// <summary>How many receive calls were made.</summary>
    public int Receives => Volatile.Read(ref _receives);

    public Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _receives);
        return inner.ReceiveAsync(maxMessages, visibilityTimeout, cancellationToken);
    }

    public async Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var updated = await inner.UpdateVisibilityAsync(message, visibilityTimeout, cancellationToken);
        if (Interlocked.Increment(ref _extensions) >= extensionsToWaitFor)
        {
            _extended.TrySetResult();
        }

        return updated;
    }

    public async Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        await inner.DeleteAsync(message, cancellationToken);
        if (Interlocked.Increment(ref _deletes) >= deletesToWaitFor)
        {
            _deleted.TrySetResult();
        }
    }

    public Task DeadLetterAsync(QueueMessage message, string error, CancellationToken cancellationToken) => inner.DeadLetterAsync(message, error, cancellationToken);

    public Task<int> GetApproximateCountAsync(CancellationToken cancellationToken) => inner.GetApproximateCountAsync(cancellationToken);
}
