namespace Labeling.Queues;

/// <summary>Gives access to named work queues of one backend (SQLite queue table or Azure Storage Queues).</summary>
public interface IWorkQueueFactory
{
    /// <summary>The queue called <paramref name="name"/> (Azure queue naming rules); its poison queue is <c>{name}-poison</c>.</summary>
    IWorkQueue GetQueue(string name);
}

/// <summary>
/// A durable work queue with Azure Storage Queue semantics. A received message is hidden for its
/// visibility timeout (its lease), during which only the holder of its pop receipt may extend,
/// delete or dead-letter it; if the lease expires the message becomes visible again with a higher
/// dequeue count. A message received more than <see cref="WorkQueueOptions.MaxDequeueCount"/> times
/// is moved to the poison queue instead of being returned.
/// </summary>
public interface IWorkQueue
{
    /// <summary>The queue name.</summary>
    string Name { get; }

    /// <summary>The poison queue name, <c>{Name}-poison</c>.</summary>
    string PoisonQueueName { get; }

    /// <summary>Creates the queue and its poison queue if they do not exist.</summary>
    Task CreateIfNotExistsAsync(CancellationToken cancellationToken);

    /// <summary>Adds a message (text, at most <see cref="QueueLimits.MaxMessageBytes"/> UTF-8 bytes), visible after <paramref name="initialDelay"/>. Returns the message id.</summary>
    Task<string> SendAsync(string body, TimeSpan? initialDelay, CancellationToken cancellationToken);

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> visible messages and hides them for
    /// <paramref name="visibilityTimeout"/>. Returns at once, empty when nothing is visible (no long poll): callers back off.
    /// </summary>
    Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken);

    /// <summary>
    /// Extends (or shortens) the lease of a received message. Returns the message with its new pop
    /// receipt; the old receipt is stale from then on. Throws <see cref="QueueLeaseLostException"/> when the receipt is stale.
    /// </summary>
    Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken);

    /// <summary>Deletes a processed message. Throws <see cref="QueueLeaseLostException"/> when the pop receipt is stale.</summary>
    Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Moves a message that can never succeed to the poison queue, as a <see cref="PoisonMessage"/>
    /// carrying <paramref name="error"/>, and deletes it here. Throws <see cref="QueueLeaseLostException"/> when the pop receipt is stale.
    /// </summary>
    Task DeadLetterAsync(QueueMessage message, string error, CancellationToken cancellationToken);

    /// <summary>Approximate number of messages in the queue, visible or not.</summary>
    Task<int> GetApproximateCountAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads up to <paramref name="maxMessages"/> (1–<see cref="QueueLimits.MaxReceiveCount"/>) visible messages from the
    /// front of the queue without receiving them: nothing is hidden, no dequeue count changes. What tools use to show a queue (its dead letters).
    /// </summary>
    Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken);
}

/// <summary>A received message and the lease on it.</summary>
/// <param name="MessageId">Stable id of the message.</param>
/// <param name="PopReceipt">Proof of the current lease; changes on every receive and visibility update.</param>
/// <param name="Body">The message text.</param>
/// <param name="DequeueCount">How many times the message has been received, this time included.</param>
/// <param name="InsertedOn">When it was sent.</param>
/// <param name="NextVisibleOn">When the lease expires.</param>
public sealed record QueueMessage(
    string MessageId, string PopReceipt, string Body, long DequeueCount, DateTimeOffset InsertedOn, DateTimeOffset NextVisibleOn);

/// <summary>Options shared by every work queue implementation.</summary>
public sealed class WorkQueueOptions
{
    /// <summary>A message received more times than this goes to the poison queue. Default 5 (as Azure Functions).</summary>
    public int MaxDequeueCount { get; set; } = 5;
}

/// <summary>Limits common to both backends (Azure's).</summary>
public static class QueueLimits
{
    /// <summary>Largest message body in UTF-8 bytes: 64 KiB.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    /// <summary>Largest visibility timeout: 7 days.</summary>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromDays(7);

    /// <summary>Most messages one receive call returns.</summary>
    public const int MaxReceiveCount = 32;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="body"/> is too large to send.</summary>
    public static void ValidateBody(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var bytes = System.Text.Encoding.UTF8.GetByteCount(body);
        if (bytes > MaxMessageBytes)
        {
            throw new ArgumentException($"Queue message is {bytes} bytes; the limit is {MaxMessageBytes} bytes.", nameof(body));
        }
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless the timeout is between 0 and 7 days.</summary>
    public static void ValidateVisibility(TimeSpan visibilityTimeout)
    {
        if (visibilityTimeout < TimeSpan.Zero || visibilityTimeout > MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "The visibility timeout must be between 0 and 7 days.");
        }
    }
}

/// <summary>The lease on a message was lost: its pop receipt is stale (the lease expired and someone else received it, or it was updated or deleted).</summary>
public sealed class QueueLeaseLostException(string queue, string messageId, Exception? inner = null)
    : Exception($"The lease on message {messageId} of queue '{queue}' was lost: its pop receipt is stale or the message is gone.", inner)
{
    public string Queue { get; } = queue;
    public string MessageId { get; } = messageId;
}
