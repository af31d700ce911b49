using Labeling.Queues;
using Microsoft.Extensions.Logging;

namespace Labeling.Functions.Batches;

/// <summary>
/// Keeps the lease on a message while its batch runs: extends it every third of the visibility timeout
/// and remembers the newest pop receipt. When the lease is lost (<see cref="QueueLeaseLostException"/>)
/// it cancels <see cref="Token"/>: someone else may be working on the message by now.
/// </summary>
internal sealed partial class LeaseKeeper : IAsyncDisposable
{
    private readonly IWorkQueue _queue;
    private readonly TimeSpan _visibility;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationToken _callerToken;
    private readonly CancellationTokenSource _work;
    private readonly CancellationTokenSource _stopRenewing = new();
    private readonly Task _loop;
    private QueueMessage _current;
    private int _lost;

    private LeaseKeeper(IWorkQueue queue, QueueMessage message, TimeSpan visibility, ILogger logger, TimeProvider time, CancellationToken cancellationToken)
    {
        _queue = queue;
        _current = message;
        _visibility = visibility;
        _logger = logger;
        _time = time;
        _callerToken = cancellationToken;
        _work = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = Task.Run(RenewLoopAsync, CancellationToken.None);
    }

    /// <summary>Cancelled when the caller cancels or the lease is lost.</summary>
    public CancellationToken Token => _work.Token;

    /// <summary>Whether the lease was lost.</summary>
    public bool Lost => Volatile.Read(ref _lost) == 1;

    /// <summary>How many times the lease was extended.</summary>
    public int Renewals { get; private set; }

    public static LeaseKeeper Start(IWorkQueue queue, QueueMessage message, TimeSpan visibility, ILogger logger, TimeProvider time, CancellationToken cancellationToken) =>
        new(queue, message, visibility, logger, time, cancellationToken);

    /// <summary>Stops extending the lease (waiting for an extension in flight) and returns the message with its newest pop receipt.</summary>
    public async Task<QueueMessage> StopAsync()
    {
        await _stopRenewing.CancelAsync();
        await _loop;
        return Volatile.Read(ref _current);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _work.Dispose();
        _stopRenewing.Dispose();
    }

    private async Task RenewLoopAsync()
    {
        var interval = _visibility / 3;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopRenewing.Token, _work.Token);
        while (true)
        {
            try
            {
                await Task.Delay(interval, _time, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Stopping must not cancel an extension in flight: the queue may have applied it, and only its
            // answer carries the new pop receipt. Only the caller's token (shutdown) may cancel it.
            try
            {
                var renewed = await _queue.UpdateVisibilityAsync(Volatile.Read(ref _current), _visibility, _callerToken);
                Volatile.Write(ref _current, renewed);
                Renewals++;
                Log.Extended(_logger, renewed.MessageId, renewed.NextVisibleOn);
            }
            catch (OperationCanceledException) when (_callerToken.IsCancellationRequested)
            {
                return;
            }
            catch (QueueLeaseLostException e)
            {
                Volatile.Write(ref _lost, 1);
                Log.Lost(_logger, e.MessageId, e);
                await _work.CancelAsync();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The lease still runs for two more intervals: try again at the next tick.
                Log.ExtendFailed(_logger, _current.MessageId, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Extended the lease on message {MessageId} until {Until}.")]
        public static partial void Extended(ILogger logger, string messageId, DateTimeOffset until);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease on message {MessageId}: cancelling its batch; the message will be delivered again.")]
        public static partial void Lost(ILogger logger, string messageId, Exception exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Could not extend the lease on message {MessageId}; trying again at the next interval.")]
        public static partial void ExtendFailed(ILogger logger, string messageId, Exception exception);
    }
}
