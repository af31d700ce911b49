using Labeling.Labels;

namespace Labeling.Bootstrap;

/// <summary>
/// While a training run works, records every <c>interval</c> that its process is alive. When the store answers that the
/// run is no longer running (a host took it for dead and resumes it elsewhere), <see cref="Token"/> is cancelled so
/// that two processes never train into one checkpoint folder. A store that cannot be reached for a beat is tried again
/// at the next one: a short database outage does not stop training.
/// </summary>
internal sealed class RunHeartbeat : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;

    public RunHeartbeat(ILabelStore store, long runId, TimeSpan interval, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _loop = BeatAsync(store, runId, interval, _stop.Token);
    }

    /// <summary>Cancelled when the caller cancels or another host took the run over.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>Whether the store said the run was no longer running.</summary>
    public bool TakenOver { get; private set; }

    private async Task BeatAsync(ILabelStore store, long runId, TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                bool running;
                try
                {
                    running = await store.HeartbeatTrainingRunAsync(runId, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    continue; // the next beat tries again; OrphanAfter is many beats long
                }

                if (!running)
                {
                    TakenOver = true;
                    await _stop.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended or was cancelled.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.GetAwaiter().GetResult(); // ends promptly: the loop only awaits the timer and one store call
        _stop.Dispose();
    }
}
