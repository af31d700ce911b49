using Azure;
using Labeling.Blobs;
using Labeling.Functions.Batches;
using Labeling.Queues;
using Microsoft.Data.Sqlite;

namespace Labeling.Functions.Tests.Batches;

public sealed class TransientErrorsTests
{
    [Fact]
    public void StorageAndNetworkFailures_AreTransient()
    {
        Assert.True(TransientErrors.IsTransient(new IOException("disk")));
        Assert.True(TransientErrors.IsTransient(new TimeoutException()));
        Assert.True(TransientErrors.IsTransient(new HttpRequestException("refused")));
        Assert.True(TransientErrors.IsTransient(new SqliteException("busy", 5)));
        Assert.True(TransientErrors.IsTransient(new InvalidOperationException("wrapped", new IOException("reset"))));
        Assert.True(TransientErrors.IsTransient(new RequestFailedException(503, "unavailable")));
        Assert.True(TransientErrors.IsTransient(new RequestFailedException(429, "throttled")));
        Assert.True(TransientErrors.IsTransient(new RequestFailedException(408, "timeout")));
    }

    [Fact]
    public void PermanentFailures_AreNot()
    {
        Assert.False(TransientErrors.IsTransient(new RequestFailedException(404, "not found")));
        Assert.False(TransientErrors.IsTransient(new RequestFailedException(403, "forbidden")));
        Assert.False(TransientErrors.IsTransient(new BlobNotFoundException("c", "a.jpg")));
        Assert.False(TransientErrors.IsTransient(new QueueLeaseLostException("q", "m")));
        Assert.False(TransientErrors.IsTransient(new ArgumentException("bug")));
        Assert.False(TransientErrors.IsTransient(new OperationCanceledException()));
    }
}
