using Labeling.Functions.Control;
using Labeling.Labels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Labeling.Server;

/// <summary>
/// Job control per dataset in the HTTP API (docs/server.md): <c>GET /api/datasets</c> with state, priority, cap,
/// counts, rate and ETA, and POSTs that pause, resume, cancel, set the priority or the cap through
/// <see cref="DatasetControl"/> (behind the same access gate as the rest of the API).
/// </summary>
internal static class DatasetControlEndpoints
{
    /// <summary>One dataset as the API lists it: its counts (as <c>DatasetProgress</c>), its control settings, rate and ETA.</summary>
    public sealed record DatasetStatus(
        string Dataset, long Images, long Pending, long Queued, long Labelled, long Failed, long Boxes,
        string State, string Priority, int? MaxConcurrentBatches, long Generation, int RunningBatches,
        double ImagesPerSecond, double? EtaSeconds, double RateWindowSeconds)
    {
        public static DatasetStatus From(DatasetActivity a) => new(
            a.Control.Name, a.Progress.Images, a.Progress.Pending, a.Progress.Queued, a.Progress.Labelled, a.Progress.Failed, a.Progress.Boxes,
            a.Control.State.ToText(), a.Control.Priority.ToText(), a.Control.MaxConcurrentBatches, a.Control.Generation, a.RunningBatches,
            a.ImagesPerSecond, a.Eta?.TotalSeconds, a.Window.TotalSeconds);
    }

    /// <summary>What a control POST did.</summary>
    public sealed record ControlResponse(string Dataset, string State, string Priority, int? MaxConcurrentBatches, long Generation, string Summary)
    {
        public static ControlResponse From(DatasetControlResult r) =>
            new(r.Dataset.Name, r.Dataset.State.ToText(), r.Dataset.Priority.ToText(), r.Dataset.MaxConcurrentBatches, r.Dataset.Generation, r.Summary);
    }

    public static RouteGroupBuilder MapDatasetControl(this RouteGroupBuilder api)
    {
        api.MapGet("/datasets", async (DatasetControl control, CancellationToken ct) =>
                TypedResults.Ok((await control.ListAsync(ct)).Select(DatasetStatus.From).ToList()))
            .WithName("ListDatasets").WithSummary("Every dataset with its counts, state, priority, batch cap, running batches, rate (images/s over the rate window) and ETA (null: unknown).");

        api.MapPost("/datasets/{name}/pause", (string name, DatasetControl control, CancellationToken ct) => RunAsync(name, control.PauseAsync(name, ct)))
            .WithName("PauseDataset").WithSummary("Pause: batches in flight finish, queued ones wait, the scan queues none of its images.");
        api.MapPost("/datasets/{name}/resume", (string name, DatasetControl control, CancellationToken ct) => RunAsync(name, control.ResumeAsync(name, ct)))
            .WithName("ResumeDataset").WithSummary("Resume: active again, and its pending images are queued.");
        api.MapPost("/datasets/{name}/cancel", (string name, DatasetControl control, CancellationToken ct) => RunAsync(name, control.CancelAsync(name, ct)))
            .WithName("CancelDataset").WithSummary("Cancel: its queued images go back to pending (never failed), workers drop its queued batches, and it is paused.");
        api.MapPost("/datasets/{name}/priority/{priority}", (string name, string priority, DatasetControl control, CancellationToken ct) =>
                DatasetControlText.TryParsePriority(priority, out var parsed)
                    ? RunAsync(name, control.SetPriorityAsync(name, parsed, ct))
                    : Task.FromResult<Results<Ok<ControlResponse>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>>>(Bad($"The priority is high, normal or low, not '{priority}'.")))
            .WithName("SetDatasetPriority").WithSummary("Priority high, normal or low: its queued work moves to that priority's queue.");
        api.MapPost("/datasets/{name}/limit/{limit}", (string name, string limit, DatasetControl control, CancellationToken ct) =>
                DatasetControlText.TryParseBatchCap(limit, out var cap)
                    ? RunAsync(name, control.SetBatchCapAsync(name, cap, ct))
                    : Task.FromResult<Results<Ok<ControlResponse>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>>>(Bad($"The limit is a positive number or none, not '{limit}'.")))
            .WithName("SetDatasetBatchCap").WithSummary("At most N of its batches at once (N ≥ 1), or none: no cap.");
        return api;
    }

    private static async Task<Results<Ok<ControlResponse>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>>> RunAsync(string name, Task<DatasetControlResult?> action) =>
        await action is { } result
            ? TypedResults.Ok(ControlResponse.From(result))
            : TypedResults.NotFound(new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = $"No dataset '{name}'." });

    private static BadRequest<ProblemDetails> Bad(string title) => TypedResults.BadRequest(new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = title });
}
