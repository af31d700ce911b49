using Labeling.Bootstrap;

namespace Labeling.Server;

/// <summary>Where the bootstrap demo job of this host stands.</summary>
public enum DemoState
{
    Running,
    Finished,
    Failed,
}

/// <summary>
/// The demo job as the dashboard tile, <c>/api/progress</c> and the review page show it.
/// </summary>
/// <param name="State">Running, finished or failed.</param>
/// <param name="Stage">The current stage's name (the last one reached once finished or failed).</param>
/// <param name="StageIndex">The stage's number, from 0.</param>
/// <param name="StageCount">How many stages the demo has.</param>
/// <param name="StageFraction">How far the current stage is, 0–1.</param>
/// <param name="Fraction">How far the whole demo is, 0–1 (stages count alike).</param>
/// <param name="Detail">The stage's last line of detail (<c>step 120/600, loss 1.234</c>).</param>
/// <param name="StartedAt">When the job started in this host.</param>
/// <param name="FinishedAt">When it finished or failed.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="Report">What it measured, once finished.</param>
/// <param name="Prefix">The run's prefix (<c>demo</c>, <c>demo-2</c>, …: <see cref="DemoRuns"/>).</param>
public sealed record DemoSnapshot(
    DemoState State,
    string? Stage,
    int StageIndex,
    int StageCount,
    double StageFraction,
    double Fraction,
    string? Detail,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string? Error,
    DemoReport? Report,
    string? Prefix = null);

/// <summary>
/// The demo job's progress in this host, written by the job's thread and read by every request:
/// each change swaps one immutable <see cref="DemoSnapshot"/>. <see cref="Current"/> is null until
/// a demo job starts in this process.
/// </summary>
public sealed class DemoStatus(TimeProvider time) : IProgress<DemoProgress>
{
    private readonly Lock _gate = new();
    private DemoSnapshot? _current;

    /// <summary>The latest state, or null when no demo ran in this process.</summary>
    public DemoSnapshot? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>A demo (run <paramref name="prefix"/>) starts with its stages: the first one at 0.</summary>
    public void Start(IReadOnlyList<string> stages, string prefix = DemoRuns.FirstPrefix)
    {
        ArgumentNullException.ThrowIfNull(stages);
        lock (_gate)
        {
            _current = new DemoSnapshot(DemoState.Running, stages.Count > 0 ? stages[0] : null, 0, stages.Count, 0, 0, "starting", time.GetUtcNow(), null, null, null, prefix);
        }
    }

    /// <summary>The running demo's latest progress; ignored when no demo is running.</summary>
    public void Report(DemoProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            if (_current is not { State: DemoState.Running } running)
            {
                return;
            }

            var fraction = Math.Clamp(value.Fraction, 0, 1);
            var overall = value.StageCount == 0 ? 0 : Math.Clamp((value.StageIndex + fraction) / value.StageCount, 0, 1);
            _current = running with
            {
                Stage = value.Stage,
                StageIndex = value.StageIndex,
                StageCount = value.StageCount,
                StageFraction = fraction,
                Fraction = overall,
                Detail = value.Detail,
            };
        }
    }

    /// <summary>The demo finished with <paramref name="report"/>.</summary>
    public void Finish(DemoReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        lock (_gate)
        {
            _current = OrStarted() with
            {
                State = DemoState.Finished,
                StageFraction = 1,
                Fraction = 1,
                Detail = $"done in {report.Minutes:F1} min",
                FinishedAt = time.GetUtcNow(),
                Report = report,
            };
        }
    }

    /// <summary>The demo stopped with <paramref name="error"/>; the stage it reached stays.</summary>
    public void Fail(string error)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(error);
        lock (_gate)
        {
            _current = OrStarted() with { State = DemoState.Failed, FinishedAt = time.GetUtcNow(), Error = error };
        }
    }

    private DemoSnapshot OrStarted() =>
        _current ?? new DemoSnapshot(DemoState.Running, null, 0, 0, 0, 0, null, time.GetUtcNow(), null, null, null);
}
