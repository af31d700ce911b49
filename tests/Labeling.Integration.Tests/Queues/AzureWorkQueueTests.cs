using Azure.Storage.Queues;
using Labeling.Queues;

namespace Labeling.Integration.Tests.Queues;

/// <summary>The work queue contract on Azure Storage Queues (a real Azurite server).</summary>
public sealed class AzureWorkQueueTests(AzuriteFixture azurite) : WorkQueueContract
{
    protected override Task<IWorkQueueFactory> CreateFactoryAsync(int maxDequeueCount = 5)
    {
        var service = new QueueServiceClient(azurite.Server.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        IWorkQueueFactory factory = new AzureWorkQueueFactory(service, new WorkQueueOptions { MaxDequeueCount = maxDequeueCount });
        return Task.FromResult(factory);
    }
}
