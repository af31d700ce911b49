using Azure.Storage.Queues;
using Labeling.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Labeling.Queues;

/// <summary>
/// <see cref="IWorkQueueFactory"/> over one storage account's queues. The
/// <see cref="QueueServiceClient"/> must use <see cref="QueueMessageEncoding.None"/> (plain text).
/// </summary>
internal sealed class AzureWorkQueueFactory : IWorkQueueFactory
{
    private const string PoisonSuffix = "-poison";

    // Azure queue names are at most 63 characters, and "{name}-poison" must be one too.
    private const int MaxNameLength = 63 - 7;

    private readonly QueueServiceClient _service;
    private readonly WorkQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AzureWorkQueueFactory(QueueServiceClient service, WorkQueueOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDequeueCount, 1);
        _service = service;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AzureWorkQueue>();
    }

    public IWorkQueue GetQueue(string name)
    {
        ContainerName.Validate(name, "queue");
        if (name.Length > MaxNameLength)
        {
            throw new ArgumentException(
                $"Invalid queue name '{name}': at most {MaxNameLength} characters, so that its poison queue '{name}{PoisonSuffix}' is a valid name too.",
                nameof(name));
        }

        return new AzureWorkQueue(
            _service.GetQueueClient(name), _service.GetQueueClient(name + PoisonSuffix), _options, _time, _logger);
    }
}
