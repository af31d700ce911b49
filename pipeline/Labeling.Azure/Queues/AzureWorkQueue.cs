using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Labeling.Queues;

/// <summary>
/// <see cref="IWorkQueue"/> over an Azure Storage queue and its <c>{name}-poison</c> queue.
/// Bodies travel as plain text (the clients must use <see cref="QueueMessageEncoding.None"/>),
/// messages never expire, and a message received more than
/// <see cref="WorkQueueOptions.MaxDequeueCount"/> times is moved to the poison queue on receive.
/// </summary>
internal sealed partial class AzureWorkQueue : IWorkQueue
{
    // Never expire: a message must be completed or dead-lettered, not silently dropped after 7 days.
    private static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    // How long DeadLetterAsync holds the message while it writes the poison copy.
    private static readonly TimeSpan DeadLetterLease = TimeSpan.FromSeconds(60);

    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly int _maxDequeueCount;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AzureWorkQueue(QueueClient queue, QueueClient poisonQueue, WorkQueueOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(poisonQueue);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDequeueCount, 1);
        _queue = queue;
        _poison = poisonQueue;
        _maxDequeueCount = options.MaxDequeueCount;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    public string Name => _queue.Name;

    public string PoisonQueueName => _poison.Name;

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await _poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    public async Task<string> SendAsync(string body, TimeSpan? initialDelay, CancellationToken cancellationToken)
    {
        ValidateText(body);
        if (initialDelay is { } delay)
        {
            QueueLimits.ValidateVisibility(delay);
        }

        var receipt = await _queue.SendMessageAsync(
            body, initialDelay is { } d ? WholeSeconds(d) : null, NeverExpires, cancellationToken);
        return receipt.Value.MessageId;
    }

    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        QueueLimits.ValidateVisibility(visibilityTimeout);

        // The service hides a received message for at least 1 s; a 0 s lease is a 1 s one shortened
        // to 0 right away (before that, the poison check still holds a real lease).
        var timeout = WholeSeconds(visibilityTimeout);
        var receiveTimeout = timeout == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : timeout;

        var result = new List<QueueMessage>(Math.Min(maxMessages, QueueLimits.MaxReceiveCount));
        while (result.Count < maxMessages)
        {
            var batchSize = Math.Min(maxMessages - result.Count, QueueLimits.MaxReceiveCount);
            var batch = (await _queue.ReceiveMessagesAsync(batchSize, receiveTimeout, cancellationToken)).Value;
            foreach (var message in batch)
            {
                if (message.DequeueCount > _maxDequeueCount)
                {
                    await PoisonAsync(message, cancellationToken);
                    continue;
                }

                var received = ToMessage(message);
                if (timeout == TimeSpan.Zero)
                {
                    try
                    {
                        received = await UpdateVisibilityAsync(received, TimeSpan.Zero, cancellationToken);
                    }
                    catch (QueueLeaseLostException)
                    {
                        continue; // its 1 s lease ran out and someone else took it
                    }
                }

                result.Add(received);
            }

            if (batch.Length < batchSize)
            {
                break; // nothing more visible now
            }
        }

        return result;
    }

    public async Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        QueueLimits.ValidateVisibility(visibilityTimeout);
        try
        {
            var receipt = (await _queue.UpdateMessageAsync(
                message.MessageId, message.PopReceipt, messageText: null, WholeSeconds(visibilityTimeout), cancellationToken)).Value;
            return message with { PopReceipt = receipt.PopReceipt, NextVisibleOn = receipt.NextVisibleOn };
        }
        catch (RequestFailedException e) when (IsLeaseLost(e))
        {
            throw new QueueLeaseLostException(Name, message.MessageId, e);
        }
    }

    public async Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await DeleteAsync(message.MessageId, message.PopReceipt, cancellationToken);
    }

    public async Task DeadLetterAsync(QueueMessage message, string error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(error);

        // Renew the lease first: a stale receipt then fails before any poison copy is written, and
        // the message cannot be received elsewhere while the copy is written.
        var held = await UpdateVisibilityAsync(message, DeadLetterLease, cancellationToken);
        var poison = new PoisonMessage(Name, message.MessageId, message.DequeueCount, error, _time.GetUtcNow(), message.Body);
        await _poison.SendMessageAsync(poison.ToJson(), visibilityTimeout: null, NeverExpires, cancellationToken);

        // If this fails the poison queue may hold a duplicate copy: acceptable; a lost message is not.
        await DeleteAsync(held.MessageId, held.PopReceipt, cancellationToken);
    }

    public async Task<int> GetApproximateCountAsync(CancellationToken cancellationToken)
    {
        var properties = await _queue.GetPropertiesAsync(cancellationToken);
        return properties.Value.ApproximateMessagesCount;
    }

    public async Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, QueueLimits.MaxReceiveCount);
        var peeked = (await _queue.PeekMessagesAsync(maxMessages, cancellationToken)).Value;
        return peeked.Select(m => new PeekedMessage(m.MessageId, m.MessageText ?? string.Empty, m.DequeueCount, m.InsertedOn ?? DateTimeOffset.UnixEpoch)).ToList();
    }

    private async Task PoisonAsync(Azure.Storage.Queues.Models.QueueMessage message, CancellationToken cancellationToken)
    {
        var error = PoisonMessage.TooManyDequeues(message.DequeueCount, _maxDequeueCount);
        var poison = new PoisonMessage(
            Name, message.MessageId, message.DequeueCount, error, _time.GetUtcNow(), message.MessageText ?? string.Empty);
        await _poison.SendMessageAsync(poison.ToJson(), visibilityTimeout: null, NeverExpires, cancellationToken);
        try
        {
            await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        }
        catch (RequestFailedException e) when (IsLeaseLost(e))
        {
            // Someone else holds or removed it meanwhile; the poison copy may be a duplicate, which is acceptable.
        }

        LogPoisoned(_logger, Name, message.MessageId, message.DequeueCount, _maxDequeueCount);
    }

    private async Task DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken);
        }
        catch (RequestFailedException e) when (IsLeaseLost(e))
        {
            throw new QueueLeaseLostException(Name, messageId, e);
        }
    }

    private static QueueMessage ToMessage(Azure.Storage.Queues.Models.QueueMessage m) =>
        new(m.MessageId, m.PopReceipt, m.MessageText ?? string.Empty, m.DequeueCount,
            m.InsertedOn ?? DateTimeOffset.UnixEpoch, m.NextVisibleOn ?? DateTimeOffset.UnixEpoch);

    // A stale pop receipt: 400 PopReceiptMismatch while the message exists (re-received or updated
    // by someone else), 404 MessageNotFound once it was deleted.
    private static bool IsLeaseLost(RequestFailedException e) =>
        e.ErrorCode == QueueErrorCode.PopReceiptMismatch || e.ErrorCode == QueueErrorCode.MessageNotFound;

    // The service counts whole seconds; round up so a lease is never shorter than asked.
    private static TimeSpan WholeSeconds(TimeSpan t) => TimeSpan.FromSeconds(Math.Ceiling(t.TotalSeconds));

    // Plain-text messages travel inside XML: characters XML 1.0 cannot hold would fail with a bare 400.
    private static void ValidateText(string body)
    {
        QueueLimits.ValidateBody(body);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (char.IsHighSurrogate(c) && i + 1 < body.Length && char.IsLowSurrogate(body[i + 1]))
            {
                i++;
                continue;
            }

            if (c is '\t' or '\n' or '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD))
            {
                continue;
            }

            throw new ArgumentException(
                $"Queue message has character U+{(int)c:X4} at index {i}, which an Azure queue message cannot carry as text (escape it, as JSON does).",
                nameof(body));
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Moved message {MessageId} of queue {Queue} to its poison queue: received {DequeueCount} times, more than the maximum of {MaxDequeueCount}.")]
    private static partial void LogPoisoned(ILogger logger, string queue, string messageId, long dequeueCount, int maxDequeueCount);
}
