using System.Diagnostics.Metrics;

namespace Labeling.Functions.Batches;

/// <summary>Counters of the label worker (System.Diagnostics.Metrics meter <c>Labeling.Worker</c>), and the same numbers as a snapshot for a host's <c>/stats</c> endpoint.</summary>
public sealed class LabelWorkerMetrics : IDisposable
{
    public const string MeterName = "Labeling.Worker";
    private readonly Meter _meter;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _failedMessages;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly Counter<long> _images;
    private long _imagesTotal;
    private long _messagesTotal;
    private long _failedTotal;
    private long _inFlight;
    private long _queueDepth = -1;

    public LabelWorkerMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _messages = _meter.CreateCounter<long>("labeling.worker.messages", description: "Label messages handled to the end.");
        _failedMessages = _meter.CreateCounter<long>("labeling.worker.failed_messages", description: "Label messages that were released, lost their lease, were dead-lettered or threw.");
        _images = _meter.CreateCounter<long>("labeling.worker.images", description: "Images in label messages handled to the end (labelled or marked failed).");
        _meter.CreateObservableGauge("labeling.worker.in_flight", () => Interlocked.Read(ref _inFlight), description: "Messages being handled now.");
        _meter.CreateObservableGauge("labeling.worker.queue_depth", () => Interlocked.Read(ref _queueDepth), description: "Approximate label queue length at the last receive.");
    }

    public void Started() => Interlocked.Increment(ref _inFlight);

    /// <summary>One message handled; <paramref name="images"/> is how many images it carried when it completed.</summary>
    public void Finished(bool failed, int images = 0)
    {
        if (images > 0)
        {
            Interlocked.Add(ref _imagesTotal, images);
            _images.Add(images);
        }

        Interlocked.Decrement(ref _inFlight);
        if (failed)
        {
            Interlocked.Increment(ref _failedTotal);
            _failedMessages.Add(1);
        }
        else
        {
            Interlocked.Increment(ref _messagesTotal);
            _messages.Add(1);
        }
    }

    public void QueueDepth(long depth) => Interlocked.Exchange(ref _queueDepth, depth);

    /// <summary>A snapshot for <c>/stats</c>.</summary>
    public object Snapshot(ActiveDetectorState? model = null)
    {
        var uptime = DateTimeOffset.UtcNow - _started;
        var done = Interlocked.Read(ref _messagesTotal);
        return new
        {
            uptimeSeconds = Math.Round(uptime.TotalSeconds, 1),
            messages = done,
            images = Interlocked.Read(ref _imagesTotal),
            imagesPerSecond = uptime.TotalSeconds > 0 ? Math.Round(Interlocked.Read(ref _imagesTotal) / uptime.TotalSeconds, 3) : 0,
            failedMessages = Interlocked.Read(ref _failedTotal),
            inFlight = Interlocked.Read(ref _inFlight),
            queueDepth = Interlocked.Read(ref _queueDepth),
            messagesPerSecond = uptime.TotalSeconds > 0 ? Math.Round(done / uptime.TotalSeconds, 3) : 0,
            modelInUse = model?.InUse,
            modelLoadFailure = model?.LoadFailure,
        };
    }

    public void Dispose() => _meter.Dispose();
}
