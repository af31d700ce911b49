namespace Labeling.Queues;

/// <summary>Operations built from the <see cref="IWorkQueue"/> port.</summary>
public static class WorkQueueExtensions
{
    /// <summary>
    /// Puts a received message back without using up one of its deliveries: sends a copy of its body (visible after
    /// <paramref name="delay"/>), then deletes the original. For work that waits on a state of the system (no model, an
    /// outage, a paused dataset) rather than on the message itself. A crash between the two leaves both copies, which
    /// idempotent workers absorb. Throws <see cref="QueueLeaseLostException"/> when the original's lease was lost (the
    /// copy stays: the original comes back too, and labelling it twice is harmless).
    /// </summary>
    /// <returns>The copy's message id.</returns>
    public static async Task<string> RequeueAsync(this IWorkQueue queue, QueueMessage message, TimeSpan delay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(message);
        var id = await queue.SendAsync(message.Body, delay, cancellationToken).ConfigureAwait(false);
        await queue.DeleteAsync(message, cancellationToken).ConfigureAwait(false);
        return id;
    }
}
