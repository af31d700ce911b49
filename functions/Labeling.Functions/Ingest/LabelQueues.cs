using Labeling.Queues;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Ingest;

/// <summary>
/// The label queues of this configuration, one per dataset priority, highest first
/// (<see cref="IngestOptions.LabelQueuesByPriority"/>), and their numbers added up: what the worker takes from, and what
/// progress, health checks and the CLI count. Each queue and its poison queue is created once per process before it is
/// counted, so a priority level nobody has used yet counts 0 rather than failing on a queue service that has not seen it.
/// </summary>
public sealed class LabelQueues
{
    private readonly SemaphoreSlim _createGate = new(1, 1);
    private volatile bool _created;

    /// <summary>Resolves the queues of <paramref name="ingest"/> from <paramref name="queues"/>.</summary>
    public LabelQueues(IWorkQueueFactory queues, IOptions<IngestOptions> ingest)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(ingest);
        ByPriority = ingest.Value.LabelQueuesByPriority().Select(queues.GetQueue).ToList();
        Normal = ByPriority.Single(q => q.Name == ingest.Value.LabelQueue);
        Poison = ByPriority.Select(q => queues.GetQueue(q.PoisonQueueName)).ToList();
    }

    /// <summary>The label queues, highest priority first.</summary>
    public IReadOnlyList<IWorkQueue> ByPriority { get; }

    /// <summary>The normal-priority queue (<see cref="IngestOptions.LabelQueue"/>).</summary>
    public IWorkQueue Normal { get; }

    /// <summary>The poison queue of each label queue, in the same order.</summary>
    public IReadOnlyList<IWorkQueue> Poison { get; }

    /// <summary>Creates every label queue (and its poison queue) once per process.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (_created)
        {
            return;
        }

        await _createGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var queue in ByPriority)
            {
                await queue.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            }

            _created = true;
        }
        finally
        {
            _createGate.Release();
        }
    }

    /// <summary>Messages in the label queues (visible or not) and in their poison queues, each summed over the priority levels.</summary>
    public async Task<(long Depth, long DeadLettered)> CountAsync(CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        long depth = 0, poison = 0;
        foreach (var queue in ByPriority)
        {
            depth += await queue.GetApproximateCountAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var queue in Poison)
        {
            poison += await queue.GetApproximateCountAsync(cancellationToken).ConfigureAwait(false);
        }

        return (depth, poison);
    }
}
