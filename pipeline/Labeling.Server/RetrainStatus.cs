namespace Labeling.Server;

/// <summary>
/// The latest retraining run in this host, as the dashboard tile and <c>/api/progress</c> show it.
/// </summary>
/// <param name="Running">True while it trains or scores.</param>
/// <param name="Detail">Its last line (<c>training auto-17: step 300/1000</c>), or the summary once done.</param>
/// <param name="Fraction">How far it is, 0–1.</param>
/// <param name="Promoted">Once done: whether the gate promoted the candidate.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="StartedAt">When the run started in this host.</param>
/// <param name="FinishedAt">When it ended.</param>
public sealed record RetrainSnapshot(bool Running, string Detail, double Fraction, bool? Promoted, string? Error, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt);

/// <summary>The retrain job's progress in this host: written by the job, read by every request (one immutable snapshot swapped per change).</summary>
public sealed class RetrainStatus(TimeProvider time)
{
    private RetrainSnapshot? _current;

    /// <summary>The latest run, or null when none ran in this process.</summary>
    public RetrainSnapshot? Current => Volatile.Read(ref _current);

    public void Start() => Volatile.Write(ref _current, new RetrainSnapshot(true, "starting", 0, null, null, time.GetUtcNow(), null));

    public void Report(string detail, double fraction)
    {
        if (Current is { Running: true } running)
        {
            Volatile.Write(ref _current, running with { Detail = detail, Fraction = Math.Clamp(fraction, 0, 1) });
        }
    }

    public void Finish(string summary, bool promoted)
    {
        if (Current is { } run)
        {
            Volatile.Write(ref _current, run with { Running = false, Detail = summary, Fraction = 1, Promoted = promoted, FinishedAt = time.GetUtcNow() });
        }
    }

    public void Fail(string error)
    {
        if (Current is { } run)
        {
            Volatile.Write(ref _current, run with { Running = false, Error = error, FinishedAt = time.GetUtcNow() });
        }
    }
}
