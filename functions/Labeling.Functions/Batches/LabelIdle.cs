using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Batches;

/// <summary>
/// Waits for labelling to go quiet: what <c>labeling work --until-idle</c> and the bootstrap demo both need. Polls the
/// store's progress until no image is pending or queued and the label queues are empty. Pending images nobody queued (an
/// interrupted scan, a relabel that only marked images) are queued once; if they stay pending after that, nothing is
/// working on them and it says so rather than wait forever.
/// </summary>
public sealed class LabelIdle(ILabelStore store, LabelQueues queues, InboxScanner scanner)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Returns the summed progress once idle. <paramref name="worker"/> (a label worker run in this process, or null
    /// when other processes do the work) ending early rethrows its fault, or fails when <paramref name="untilIdle"/>;
    /// without <paramref name="untilIdle"/> the wait lasts until that worker ends (Ctrl+C) and returns the progress then.
    /// </summary>
    /// <exception cref="InvalidOperationException">Images stay pending after being queued, or the worker stopped before idle.</exception>
    public async Task<DatasetProgress> WaitAsync(Task? worker, bool untilIdle, Action<DatasetProgress>? report, CancellationToken cancellationToken)
    {
        if (worker is null && !untilIdle)
        {
            throw new ArgumentException("Without a worker the wait can only end when labelling is idle.", nameof(untilIdle));
        }

        var requeued = false;
        while (true)
        {
            var progress = Sum(await store.GetProgressAsync(null, cancellationToken).ConfigureAwait(false));
            report?.Invoke(progress);
            if (worker is { IsCompleted: true })
            {
                await worker.ConfigureAwait(false); // a worker that stopped by itself: surface why
                if (untilIdle && (progress.Pending > 0 || progress.Queued > 0))
                {
                    throw new InvalidOperationException($"The label worker stopped with {progress.Pending + progress.Queued} image(s) still to label.");
                }

                return progress;
            }

            if (untilIdle && progress.Queued == 0 && (await queues.CountAsync(cancellationToken).ConfigureAwait(false)).Depth == 0)
            {
                if (progress.Pending == 0)
                {
                    return progress;
                }

                if (requeued)
                {
                    throw new InvalidOperationException($"{progress.Pending} image(s) stay pending although they were queued: are the workers running?");
                }

                requeued = true;
                await scanner.EnqueuePendingAsync(null, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every dataset's progress added up (dataset name <c>*</c>).</summary>
    public static DatasetProgress Sum(IReadOnlyList<DatasetProgress> datasets) => new(
        "*",
        datasets.Sum(d => d.Images),
        datasets.Sum(d => d.Pending),
        datasets.Sum(d => d.Queued),
        datasets.Sum(d => d.Labelled),
        datasets.Sum(d => d.Failed),
        datasets.Sum(d => d.Boxes));
}
