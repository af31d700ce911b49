using System.Globalization;
using System.Text.Json;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Labeling.Functions.Models;
using Labeling.Labels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server;

/// <summary>
/// The dashboard's Models page (<c>/hangfire/models</c>): every registered model, newest first, with its status, the
/// gate's or a person's reason, its lineage, its gold-split scores and buttons that post the dashboard commands of
/// <see cref="ModelCommands"/>. Every value from the registry is HTML-encoded (<see cref="RazorPage.Write"/>).
/// </summary>
internal sealed class ModelsPage : LabelingPage
{
    public const string Path = "/models";

    public override void Execute()
    {
        Layout = new LayoutPage("Models");
        var http = Context.GetHttpContext();
        // Hangfire renders pages synchronously; the store is async only.
        var store = http.RequestServices.GetRequiredService<ILabelStore>();
        var models = store.ListModelsAsync(http.RequestAborted).GetAwaiter().GetResult();
        var runs = store.ListTrainingRunsAsync(http.RequestAborted).GetAwaiter().GetResult();
        var versions = models.ToDictionary(m => m.Id, m => m.Version);
        var canRollBack = models.Any(m => m.Status == ModelStatus.Retired);

        WriteLiteral("""<div class="row"><div class="col-md-12"><h1 class="page-header">Models</h1>""");
        if (models.Count == 0)
        {
            WriteLiteral("""<div class="alert alert-info" data-testid="models-empty">No model is registered yet: <code>labeling models add FILE --activate</code>, or a retraining run.</div></div></div>""");
            return;
        }

        WriteLiteral("""
            <p class="text-muted">Scores are on the gold split, from the run that made the model; Δ is AP-novel minus its parent's on the same split.
            The buttons queue a job (see Jobs → Succeeded / Failed for its result); promote and roll back are followed by a relabel generation.</p>
            <div class="table-responsive"><table class="table table-hover" data-testid="models-table"><thead><tr>
            <th>Version</th><th>Status</th><th>Reason</th><th>Parent</th><th>Run</th>
            <th class="text-right">AP</th><th class="text-right">AP50</th><th class="text-right">AP-base</th><th class="text-right">AP-novel</th><th class="text-right">Δ AP-novel</th>
            <th>sha256</th><th>Blob</th><th></th></tr></thead><tbody>
            """);
        foreach (var model in models.OrderByDescending(m => m.Id))
        {
            var scores = ModelScores.Parse(model.Metrics);
            var active = model.Status == ModelStatus.Active;
            WriteLiteral(active ? "<tr class=\"success\" data-testid=\"model-row\" data-version=\"" : "<tr data-testid=\"model-row\" data-version=\"");
            Write(model.Version);
            WriteLiteral("\"><td>");
            WriteLiteral(active ? "<strong>" : "");
            Write(model.Version);
            WriteLiteral(active ? "</strong>" : "");
            WriteLiteral($"""</td><td><span class="label {StatusLabel(model.Status)}" data-testid="model-status">""");
            Write(StatusText(model.Status));
            WriteLiteral("""</span></td><td data-testid="model-reason">""");
            Write(model.StatusReason ?? Missing);
            WriteLiteral("</td><td>");
            Write(model.ParentId is { } parent ? versions.GetValueOrDefault(parent, $"#{parent}") : scores.ParentVersion ?? Missing);
            WriteLiteral("</td><td>");
            Write(model.TrainingRunId?.ToString(CultureInfo.InvariantCulture) ?? Missing);
            WriteLiteral("</td>");
            Score(scores.AP, "ap");
            Score(scores.AP50, "ap50");
            Score(scores.APBase, "ap-base");
            Score(scores.APNovel, "ap-novel");
            var delta = scores.APNovelDelta;
            WriteLiteral($"""<td class="text-right {(delta is > 0 ? "text-success" : delta is < 0 ? "text-danger" : "")}" data-testid="model-delta">""");
            Write(delta?.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture) ?? Missing);
            WriteLiteral("</td><td><code title=\"");
            Write(model.Sha256);
            WriteLiteral("\">");
            Write(model.Sha256.Length > 12 ? model.Sha256[..12] : model.Sha256);
            WriteLiteral("</code></td><td><small>");
            Write(model.BlobUri);
            WriteLiteral("""</small></td><td class="text-nowrap">""");
            Buttons(model, canRollBack);
            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table></div>");
        TrainingRuns(runs, versions);
        WriteLiteral("</div></div>");
    }

    /// <summary>The retraining runs, newest first: how each ended, or that it runs (its process and last heartbeat), and where an interrupted one resumed.</summary>
    private void TrainingRuns(IReadOnlyList<TrainingRunRecord> runs, Dictionary<long, string> versions)
    {
        if (runs.Count == 0)
        {
            return;
        }

        WriteLiteral("""
            <h3>Training runs</h3>
            <div class="table-responsive"><table class="table table-condensed" data-testid="runs-table"><thead><tr>
            <th>Run</th><th>Candidate</th><th>Parent</th><th>Status</th><th class="text-right">Resumed at step</th><th>Started (UTC)</th><th>Last heartbeat (UTC)</th><th>Process</th><th>Model</th><th>Error</th>
            </tr></thead><tbody>
            """);
        foreach (var run in runs.OrderByDescending(r => r.Id))
        {
            WriteLiteral("""<tr data-testid="run-row"><td>""");
            Write(run.Id.ToString(CultureInfo.InvariantCulture));
            WriteLiteral("</td><td>");
            Write(run.Version ?? Missing);
            WriteLiteral("</td><td>");
            Write(run.ParentModelId is { } parent ? versions.GetValueOrDefault(parent, $"#{parent}") : Missing);
            WriteLiteral($"""</td><td><span class="label {RunLabel(run.Status)}" data-testid="run-status">""");
            Write(run.Status.ToString().ToLowerInvariant());
            WriteLiteral("""</span></td><td class="text-right" data-testid="run-resumed">""");
            Write(run.ResumedFromStep?.ToString(CultureInfo.InvariantCulture) ?? Missing);
            WriteLiteral("</td><td>");
            Write(run.StartedAt?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? Missing);
            WriteLiteral("</td><td>");
            Write(run.Status == TrainingRunStatus.Running ? run.HeartbeatAt?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? Missing : Missing);
            WriteLiteral("</td><td><small>");
            Write(run.Owner ?? Missing);
            WriteLiteral("</small></td><td>");
            Write(run.ModelId is { } model ? versions.GetValueOrDefault(model, $"#{model}") : Missing);
            WriteLiteral("""</td><td data-testid="run-error">""");
            Write(run.Error ?? "");
            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table></div>");
    }

    private static string RunLabel(TrainingRunStatus status) => status switch
    {
        TrainingRunStatus.Running => "label-info",
        TrainingRunStatus.Succeeded => "label-success",
        TrainingRunStatus.Failed => "label-danger",
        _ => "label-default",
    };

    private const string Missing = "—";

    private void Score(double? value, string name)
    {
        WriteLiteral($"""<td class="text-right" data-testid="model-{name}">""");
        Write(value?.ToString("F3", CultureInfo.InvariantCulture) ?? Missing);
        WriteLiteral("</td>");
    }

    private void Buttons(ModelRecord model, bool canRollBack)
    {
        // Versions outside the registry's rule cannot be named in a command's path; the CLI still can.
        if (!ModelRegistration.IsValidVersion(model.Version))
        {
            return;
        }

        if (model.Status == ModelStatus.Active)
        {
            if (canRollBack)
            {
                Button(model.Version, ModelCommands.Rollback, "Roll back", "btn-warning", $"Roll back {model.Version} to the previously active model (it becomes rejected) and relabel?");
            }

            return;
        }

        Button(model.Version, ModelCommands.Promote, "Promote", "btn-primary", $"Make {model.Version} the active model and relabel with it?");
        if (model.Status == ModelStatus.Candidate)
        {
            Button(model.Version, ModelCommands.Reject, "Reject", "btn-default", $"Reject {model.Version}?");
        }
    }

    private void Button(string version, string action, string text, string style, string confirm) =>
        CommandButton(Url.To($"{Path}/{action}/{Uri.EscapeDataString(version)}"), text, $"btn btn-sm {style}", confirm, $"model-{action}");

    private static string StatusText(ModelStatus status) => status.ToString().ToLowerInvariant();

    private static string StatusLabel(ModelStatus status) => status switch
    {
        ModelStatus.Active => "label-success",
        ModelStatus.Candidate => "label-info",
        ModelStatus.Rejected => "label-danger",
        _ => "label-default",
    };
}

/// <summary>
/// The gold-split scores in a model's metrics (what <c>Retrainer</c> stores: <c>gold</c> with <c>AP</c>, <c>AP50</c>,
/// <c>APbase</c>, <c>APnovel</c>, and <c>parent</c> with its <c>version</c> and <c>gold</c>). Absent, null or malformed
/// metrics give nulls, never an error: the page shows what it can.
/// </summary>
internal sealed record ModelScores(double? AP, double? AP50, double? APBase, double? APNovel, string? ParentVersion, double? ParentAPNovel)
{
    private static readonly ModelScores None = new(null, null, null, null, null, null);

    /// <summary>The candidate's AP-novel minus its parent's, when both are known.</summary>
    public double? APNovelDelta => APNovel is { } candidate && ParentAPNovel is { } parent ? candidate - parent : null;

    public static ModelScores Parse(string? metrics)
    {
        if (string.IsNullOrWhiteSpace(metrics))
        {
            return None;
        }

        try
        {
            using var document = JsonDocument.Parse(metrics);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return None;
            }

            var gold = Property(root, "gold");
            var parent = Property(root, "parent");
            var parentGold = parent is { } p ? Property(p, "gold") : null;
            return new ModelScores(
                Number(gold, "AP"), Number(gold, "AP50"), Number(gold, "APbase"), Number(gold, "APnovel"),
                parent is { } q && q.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String ? version.GetString() : null,
                Number(parentGold, "APnovel"));
        }
        catch (JsonException)
        {
            return None;
        }
    }

    private static JsonElement? Property(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static double? Number(JsonElement? element, string name) =>
        element is { } e && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number)
            ? number
            : null;
}

/// <summary>
/// The Models page's buttons as dashboard commands: each checks the model and queues a background job that names it (so
/// the action and its result stay in the dashboard's job history), answering 204. An unknown version, or a model no longer
/// in the state its button was shown for (the page was stale: promote of the active model, reject of a model that is no
/// longer a candidate, rollback of a model that is no longer active) answers 422 and queues nothing. The job checks the
/// state again in the store's conditional update, since two posts can both pass this check: the second changes nothing
/// and its result says why.
/// </summary>
internal static class ModelCommands
{
    public const string Promote = "promote";
    public const string Reject = "reject";
    public const string Rollback = "rollback";

    private const string VersionPattern = "(?<version>[A-Za-z0-9._-]{1,128})";

    public static void Register(RouteCollection routes)
    {
        routes.Add($"{ModelsPage.Path}/{Promote}/{VersionPattern}", Command(
            (context, model) => context.GetBackgroundJobClient().Enqueue<LabelingJobs>(j => j.PromoteAsync(model.Version, CancellationToken.None)),
            model => model.Status != ModelStatus.Active));
        routes.Add($"{ModelsPage.Path}/{Reject}/{VersionPattern}", Command(
            (context, model) => context.GetBackgroundJobClient().Enqueue<LabelingJobs>(j => j.RejectAsync(model.Version, CancellationToken.None)),
            model => model.Status == ModelStatus.Candidate));
        routes.Add($"{ModelsPage.Path}/{Rollback}/{VersionPattern}", Command(
            (context, model) => context.GetBackgroundJobClient().Enqueue<LabelingJobs>(j => j.RollbackAsync(model.Version, CancellationToken.None)),
            model => model.Status == ModelStatus.Active));
    }

    private static DashboardCommandDispatcher Command(Action<DashboardContext, ModelRecord> enqueue, Func<ModelRecord, bool>? accepts = null) =>
        new(async (context, http) =>
        {
            var version = context.UriMatch.Groups["version"].Value;
            var model = await http.RequestServices.GetRequiredService<ILabelStore>().GetModelAsync(version, http.RequestAborted);
            if (model is null || accepts?.Invoke(model) == false)
            {
                return false;
            }

            enqueue(context, model);
            return true;
        });
}
