using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Labeling.Blobs;
using Labeling.Queues;
using Labeling.Testing;

namespace Labeling.Integration.Tests.Queues;

/// <summary>Azurite with disk persistence restarted under the stores: what was written survives, a held lease is honoured, and the stores reconnect.</summary>
public sealed class AzuriteRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BlobsAndQueuedMessages_SurviveAStorageRestart()
    {
        await using var azurite = await AzuriteServer.StartAsync(inMemory: false, Ct);
        var blobs = new AzureBlobStore(new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("restart"));
        await blobs.CreateIfNotExistsAsync(Ct);
        var service = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var queue = new AzureWorkQueueFactory(service, new WorkQueueOptions()).GetQueue("label");
        await queue.CreateIfNotExistsAsync(Ct);
        using (var content = new MemoryStream(Encoding.UTF8.GetBytes("pixels")))
        {
            await blobs.WriteAsync("inbox/a.jpg", content, overwrite: false, Ct);
        }

        await queue.SendAsync("""{"v":1,"batch":"b","imageIds":[1]}""", null, Ct);
        await queue.SendAsync("""{"v":1,"batch":"c","imageIds":[2]}""", null, Ct);
        var held = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromMinutes(5), Ct));

        await azurite.RestartAsync(Ct);

        await using (var read = await blobs.OpenReadAsync("inbox/a.jpg", Ct))
        {
            using var reader = new StreamReader(read);
            Assert.Equal("pixels", await reader.ReadToEndAsync(Ct));
        }

        Assert.Equal(2, await queue.GetApproximateCountAsync(Ct));
        var other = Assert.Single(await queue.ReceiveAsync(5, TimeSpan.FromMinutes(5), Ct));
        Assert.NotEqual(held.MessageId, other.MessageId);
        await queue.DeleteAsync(held, Ct);
        await queue.DeleteAsync(other, Ct);
        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
    }
}
