using Labeling.Functions.Failures;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Labeling.Server;

/// <summary>
/// <c>GET /api/failures</c>: failed images grouped by dataset and reason, and the dead letters of each label queue. Read-only
/// like the rest of the API: retry and replay are dashboard commands (antiforgery-checked, audited jobs) or the CLI.
/// </summary>
internal static class FailuresApi
{
    /// <summary>What <c>GET /api/failures</c> returns.</summary>
    internal sealed record FailuresReport(IReadOnlyList<Labeling.Labels.FailureGroup> Groups, IReadOnlyList<DeadLetterQueue> DeadLetters);

    public static RouteGroupBuilder MapFailures(this RouteGroupBuilder api)
    {
        api.MapGet("/failures", async (string? dataset, string? reason, int? examples, FailureRecovery recovery, CancellationToken ct) =>
            {
                var perGroup = Math.Clamp(examples ?? 5, 0, 100);
                var groups = await recovery.GetGroupsAsync(dataset, reason, perGroup, ct);
                var letters = await recovery.GetDeadLettersAsync(Labeling.Queues.QueueLimits.MaxReceiveCount, ct);
                return TypedResults.Ok(new FailuresReport(groups, letters));
            })
            .WithName("GetFailures").WithSummary("Failed images grouped by dataset and reason (with up to `examples` images each, default 5), and each label queue's dead letters (count, last error).");
        return api;
    }
}
