using Labeling.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Batches;

/// <summary>Options of <see cref="LabelWorker"/>. Bound from the <c>LabelWorker</c> configuration section.</summary>
public sealed class LabelWorkerOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "LabelWorker";

    /// <summary>Messages handled at once. Default 1 (one batch keeps a detector busy; raise it when stages, not the model, are the bottleneck).</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>First wait after an empty receive (or a failed one); doubles up to <see cref="MaxIdleDelay"/>. Default 1 second.</summary>
    public TimeSpan MinIdleDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between receives while the queue stays empty. Default 30 seconds.</summary>
    public TimeSpan MaxIdleDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// While labelling waits on a state of the system (no usable model, an outage: <see cref="LabelReadiness"/>), how
    /// often the workers look again; a batch that met such a state is put back hidden for this long. Default 5 seconds.
    /// </summary>
    public TimeSpan StateRecheckDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Concurrency, 1);
        if (MinIdleDelay <= TimeSpan.Zero || MaxIdleDelay < MinIdleDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MinIdleDelay), "Need 0 < MinIdleDelay <= MaxIdleDelay.");
        }

        if (StateRecheckDelay <= TimeSpan.Zero || StateRecheckDelay > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(StateRecheckDelay), StateRecheckDelay, "StateRecheckDelay must be between 0 (exclusive) and 1 hour.");
        }
    }
}

/// <summary>
/// The label-queue loop, for a host to run (a <c>BackgroundService</c> wraps <see cref="RunAsync"/>):
/// receives one message per free slot with the batch's visibility timeout, hands it to
/// <see cref="LabelBatchHandler"/>, and backs off exponentially while the queue is empty. While <see cref="LabelReadiness"/>
/// is closed (no usable model, an outage) it receives nothing and waits for the state to clear. On cancellation it stops receiving; the handlers in flight release their messages (visibility 0)
/// and <see cref="RunAsync"/> returns once they have.
/// </summary>
public sealed partial class LabelWorker
{
    private readonly IWorkQueue _queue;
    private readonly LabelBatchHandler _handler;
    private readonly LabelWorkerOptions _options;
    private readonly TimeSpan _visibility;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LabelWorkerMetrics? _metrics;
    private readonly LabelReadiness _readiness;
    private readonly IReadOnlyList<IWorkQueue> _receiveOrder;

    /// <summary>
    /// Creates the worker; the options are validated. With <paramref name="queuesByPriority"/> (highest first, normally
    /// <c>IngestOptions.LabelQueuesByPriority()</c>, <paramref name="queue"/> among them) it takes a message from a queue
    /// only when the ones before it are empty, and hands the handler the queue the message came from.
    /// </summary>
    public LabelWorker(
        IWorkQueue queue, LabelBatchHandler handler, LabelReadiness readiness, IOptions<LabelWorkerOptions> options, IOptions<LabelBatchOptions> batchOptions,
        ILogger<LabelWorker> logger, TimeProvider? timeProvider = null, LabelWorkerMetrics? metrics = null, IReadOnlyList<IWorkQueue>? queuesByPriority = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(readiness);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(batchOptions);
        ArgumentNullException.ThrowIfNull(logger);
        options.Value.Validate();
        _queue = queue;
        _handler = handler;
        _readiness = readiness;
        _options = options.Value;
        _visibility = batchOptions.Value.VisibilityTimeout;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _metrics = metrics;
        _receiveOrder = queuesByPriority is { Count: > 0 } ? queuesByPriority : [queue];
    }

    /// <summary>Runs until <paramref name="stoppingToken"/> is cancelled, then waits for the batches in flight to release their messages.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.Concurrency, _options.Concurrency);
        var running = new List<Task>();
        var idle = _options.MinIdleDelay;
        Log.Started(_logger, _queue.Name, _options.Concurrency);
        try
        {
            foreach (var queue in _receiveOrder)
            {
                await queue.CreateIfNotExistsAsync(stoppingToken);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                await _readiness.WaitUntilReadyAsync(_receiveOrder, stoppingToken);
                await slots.WaitAsync(stoppingToken);
                if (!_readiness.State.Ready)
                {
                    slots.Release(); // a batch met a state of the system while this loop waited for a slot
                    continue;
                }

                (IWorkQueue Queue, QueueMessage Message)? received;
                try
                {
                    received = await ReceiveNextAsync(stoppingToken);
                    if (_metrics is not null)
                    {
                        // Every priority level's queue: the depth /stats reports is what this worker takes from.
                        var depth = 0;
                        foreach (var queue in _receiveOrder)
                        {
                            depth += await queue.GetApproximateCountAsync(stoppingToken);
                        }

                        _metrics.QueueDepth(depth);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A queue outage is not an empty queue: the gate closes (one log line) until the queue answers again.
                    slots.Release();
                    _readiness.Report(e);
                    continue;
                }

                if (received is not { } next)
                {
                    slots.Release();
                    await Task.Delay(idle, _time, stoppingToken);
                    idle = Next(idle);
                    continue;
                }

                idle = _options.MinIdleDelay;
                running.RemoveAll(t => t.IsCompleted);
                running.Add(HandleAsync(next.Queue, next.Message, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await Task.WhenAll(running);
            Log.Stopped(_logger, _queue.Name);
        }
    }

    private static int ImageCount(QueueMessage message)
    {
        try
        {
            return LabelMessage.Parse(message.Body).ImageIds.Count;
        }
        catch (MalformedMessageException)
        {
            return 0;
        }
    }

    // Priority: a message from a queue only when every queue before it (higher priority) has none visible.
    private async Task<(IWorkQueue Queue, QueueMessage Message)?> ReceiveNextAsync(CancellationToken stoppingToken)
    {
        foreach (var queue in _receiveOrder)
        {
            var messages = await queue.ReceiveAsync(1, _visibility, stoppingToken);
            if (messages.Count > 0)
            {
                return (queue, messages[0]);
            }
        }

        return null;
    }

    private TimeSpan Next(TimeSpan idle)
    {
        var doubled = idle * 2;
        return doubled < _options.MaxIdleDelay ? doubled : _options.MaxIdleDelay;
    }

    private Task HandleAsync(IWorkQueue queue, QueueMessage message, SemaphoreSlim slots, CancellationToken stoppingToken) => Task.Run(async () =>
    {
        _metrics?.Started();
        var outcome = LabelBatchOutcome.Released;
        try
        {
            outcome = await _handler.HandleAsync(message, queue, stoppingToken);
            Log.Handled(_logger, message.MessageId, outcome);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The handler released the message on its way out.
        }
        catch (Exception e)
        {
            // The message comes back when its lease expires; the handler decides its fate then.
            Log.HandlerFailed(_logger, message.MessageId, e);
        }
        finally
        {
            _metrics?.Finished(outcome != LabelBatchOutcome.Completed, outcome == LabelBatchOutcome.Completed ? ImageCount(message) : 0);
            slots.Release();
        }
    }, CancellationToken.None);

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Label worker started on queue '{Queue}' with {Concurrency} slots.")]
        public static partial void Started(ILogger logger, string queue, int concurrency);

        [LoggerMessage(Level = LogLevel.Information, Message = "Label worker on queue '{Queue}' stopped.")]
        public static partial void Stopped(ILogger logger, string queue);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Message {MessageId}: {Outcome}.")]
        public static partial void Handled(ILogger logger, string messageId, LabelBatchOutcome outcome);

        [LoggerMessage(Level = LogLevel.Error, Message = "Handling message {MessageId} failed unexpectedly; it comes back when its lease expires.")]
        public static partial void HandlerFailed(ILogger logger, string messageId, Exception exception);
    }
}
