using System.Globalization;
using Labeling.Labels;

namespace Labeling.Bootstrap;

/// <summary>
/// Finds training runs whose process died (killed host, lost machine) and claims them for resumption. A run is
/// orphaned when its owner is a process of this machine that is gone, or when its heartbeat is older than
/// <see cref="RetrainingOptions.OrphanAfter"/> (owners on other machines cannot be asked). Claiming marks the run failed
/// with the reason, atomically, so of several hosts exactly one resumes it.
/// </summary>
public static class TrainingRecovery
{
    /// <summary>
    /// Claims every orphaned run and returns the candidate versions to resume: those that have a version and are not
    /// registered (a run that died after registering its model has nothing left to train).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ClaimOrphansAsync(ILabelStore store, RetrainingOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        var versions = new List<string>();
        foreach (var run in await store.ListTrainingRunsAsync(cancellationToken))
        {
            if (run.Status != TrainingRunStatus.Running || WhyOrphaned(run, options.OrphanAfter, now) is not { } why)
            {
                continue;
            }

            var resumable = run.Version is not null && await store.GetModelAsync(run.Version, cancellationToken) is null;
            var reason = $"interrupted: {why}" + (resumable ? $"; resumed from its last checkpoint by a new run of {run.Version}" : "");
            if (await store.InterruptTrainingRunAsync(run.Id, reason, cancellationToken) && resumable)
            {
                versions.Add(run.Version!);
            }
        }

        return versions;
    }

    /// <summary>Why <paramref name="run"/> is taken for dead, or null while it may be alive.</summary>
    public static string? WhyOrphaned(TrainingRunRecord run, TimeSpan orphanAfter, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (RunOwner.IsDeadHere(run.Owner))
        {
            return $"its process {run.Owner} is gone";
        }

        var lastSign = run.HeartbeatAt ?? run.StartedAt;
        return lastSign is { } at && now - at > orphanAfter
            ? string.Create(CultureInfo.InvariantCulture, $"no heartbeat from {run.Owner ?? "its process"} since {at:u} (more than {orphanAfter})")
            : null;
    }
}
