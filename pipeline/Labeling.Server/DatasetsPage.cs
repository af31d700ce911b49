using System.Globalization;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Labeling.Functions.Control;
using Labeling.Labels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server;

/// <summary>
/// The dashboard's Datasets page (<c>/hangfire/datasets</c>): every dataset with its state, priority, batch cap, counts,
/// running batches, rate and ETA, and buttons that post the commands of <see cref="DatasetCommands"/> (each queues a
/// <see cref="DatasetControlJobs"/> job). Every value from the store is HTML-encoded (<see cref="RazorPage.Write"/>).
/// </summary>
internal sealed class DatasetsPage : LabelingPage
{
    public const string Path = "/datasets";

    private const string Missing = "—";

    public override void Execute()
    {
        Layout = new LayoutPage("Datasets");
        var http = Context.GetHttpContext();
        var control = http.RequestServices.GetRequiredService<DatasetControl>();
        // Hangfire renders pages synchronously; the store is async only.
        var datasets = control.ListAsync(http.RequestAborted).GetAwaiter().GetResult();

        WriteLiteral("""<div class="row"><div class="col-md-12"><h1 class="page-header">Datasets</h1>""");
        if (datasets.Count == 0)
        {
            WriteLiteral("""<div class="alert alert-info" data-testid="datasets-empty">No dataset yet: drop images under <code>inbox/&lt;dataset&gt;/</code> and scan.</div></div></div>""");
            return;
        }

        WriteLiteral("<p class=\"text-muted\">Rate: images labelled a second over the last ");
        Write(control.RateWindow.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture));
        WriteLiteral("""
             minute(s); ETA: pending and queued images at that rate. Pause lets batches in flight finish and holds the queued ones;
            cancel sends the queued images back to pending (never failed) and pauses. The buttons queue a job (see Jobs → Succeeded / Failed for its result).</p>
            <div class="table-responsive"><table class="table table-hover" data-testid="datasets-table"><thead><tr>
            <th>Dataset</th><th>State</th><th>Priority</th><th>Cap</th><th class="text-right">Running</th>
            <th class="text-right">Pending</th><th class="text-right">Queued</th><th class="text-right">Labelled</th><th class="text-right">Failed</th>
            <th class="text-right">Images/s</th><th class="text-right">ETA</th><th></th></tr></thead><tbody>
            """);
        foreach (var dataset in datasets)
        {
            var c = dataset.Control;
            var name = c.Name;
            var paused = c.State == DatasetState.Paused;
            WriteLiteral(paused ? "<tr class=\"warning\" data-testid=\"dataset-row\" data-dataset=\"" : "<tr data-testid=\"dataset-row\" data-dataset=\"");
            Write(name);
            WriteLiteral("\"><td><strong>");
            Write(name);
            WriteLiteral($"""</strong></td><td><span class="label {(paused ? "label-warning" : "label-success")}" data-testid="dataset-state">""");
            Write(c.State.ToText());
            WriteLiteral("""</span></td><td class="text-nowrap" data-testid="dataset-priority">""");
            foreach (var priority in new[] { DatasetPriority.High, DatasetPriority.Normal, DatasetPriority.Low })
            {
                if (priority == c.Priority)
                {
                    WriteLiteral("""<span class="label label-primary">""");
                    Write(priority.ToText());
                    WriteLiteral("</span> ");
                }
                else
                {
                    Button(name, $"{DatasetCommands.Priority}/{priority.ToText()}", priority.ToText(), "btn-xs btn-default", $"Give {name} {priority.ToText()} priority (its queued batches move to that queue)?", $"priority-{priority.ToText()}");
                }
            }

            WriteLiteral("""</td><td class="text-nowrap"><span data-testid="dataset-cap">""");
            Write(c.MaxConcurrentBatches?.ToString(CultureInfo.InvariantCulture) ?? "none");
            WriteLiteral("""</span> <input type="number" min="1" step="1" class="input-sm" style="width:4em" data-testid="cap-input" title="at most this many batches at once; empty: no cap" oninput="var b=this.nextElementSibling;$(b).data('ajax',b.getAttribute('data-base')+(this.value||'none'))"> """);
            WriteLiteral("<button type=\"button\" class=\"btn btn-xs btn-default\" data-testid=\"dataset-limit\" data-base=\"");
            Write(Url.To($"{Path}/{DatasetCommands.Limit}/{Uri.EscapeDataString(name)}/"));
            WriteLiteral("\" data-ajax=\"");
            Write(Url.To($"{Path}/{DatasetCommands.Limit}/{Uri.EscapeDataString(name)}/none"));
            WriteLiteral("\" data-loading-text=\"…\">Set cap</button></td>");
            Number(dataset.RunningBatches, "running");
            Number(dataset.Progress.Pending, "pending");
            Number(dataset.Progress.Queued, "queued");
            Number(dataset.Progress.Labelled, "labelled");
            Number(dataset.Progress.Failed, "failed");
            WriteLiteral("""<td class="text-right" data-testid="dataset-rate">""");
            Write(dataset.ImagesPerSecond.ToString("0.00", CultureInfo.InvariantCulture));
            WriteLiteral("""</td><td class="text-right" data-testid="dataset-eta">""");
            Write(DatasetControlText.FormatEta(dataset.Eta));
            WriteLiteral("""</td><td class="text-nowrap">""");
            if (paused)
            {
                Button(name, DatasetCommands.Resume, "Resume", "btn-sm btn-success", $"Resume labelling {name} (its pending images are queued)?", DatasetCommands.Resume);
            }
            else
            {
                Button(name, DatasetCommands.Pause, "Pause", "btn-sm btn-warning", $"Pause labelling {name}? Batches in flight finish.", DatasetCommands.Pause);
            }

            Button(name, DatasetCommands.Cancel, "Cancel", "btn-sm btn-danger", $"Cancel the queued labelling of {name}? Its queued images go back to pending and it is paused.", DatasetCommands.Cancel);
            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table></div></div></div>");
    }

    private void Number(long value, string name)
    {
        WriteLiteral($"""<td class="text-right" data-testid="dataset-{name}">""");
        Write(value.ToString(CultureInfo.InvariantCulture));
        WriteLiteral("</td>");
    }

    private void Button(string dataset, string action, string text, string style, string confirm, string testId) =>
        CommandButton(
            Url.To($"{Path}/{action.Split('/')[0]}/{Uri.EscapeDataString(dataset)}{(action.Contains('/', StringComparison.Ordinal) ? "/" + action.Split('/')[1] : "")}"),
            text, $"btn {style}", confirm, $"dataset-{testId}");
}

/// <summary>
/// The Datasets page's buttons as dashboard commands: each checks that the dataset exists and queues a
/// <see cref="DatasetControlJobs"/> job (so the action and its result stay in the job history), answering 204; an
/// unknown dataset, priority or cap answers 422 and queues nothing. Read-only dashboards get 401, anything but POST 405.
/// </summary>
internal static class DatasetCommands
{
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Cancel = "cancel";
    public const string Priority = "priority";
    public const string Limit = "limit";

    // Dataset names as the store allows them in a path segment (escaped by the page).
    private const string NamePattern = "(?<name>[^/]{1,200})";

    public static void Register(RouteCollection routes)
    {
        routes.Add($"{DatasetsPage.Path}/{Pause}/{NamePattern}", Command(Always((jobs, name) => jobs.Enqueue<DatasetControlJobs>(j => j.PauseAsync(name, CancellationToken.None)))));
        routes.Add($"{DatasetsPage.Path}/{Resume}/{NamePattern}", Command(Always((jobs, name) => jobs.Enqueue<DatasetControlJobs>(j => j.ResumeAsync(name, CancellationToken.None)))));
        routes.Add($"{DatasetsPage.Path}/{Cancel}/{NamePattern}", Command(Always((jobs, name) => jobs.Enqueue<DatasetControlJobs>(j => j.CancelAsync(name, CancellationToken.None)))));
        routes.Add($"{DatasetsPage.Path}/{Priority}/{NamePattern}/(?<value>[a-z]+)", Command((jobs, name, value) =>
        {
            if (!DatasetControlText.TryParsePriority(value, out var priority))
            {
                return false;
            }

            jobs.Enqueue<DatasetControlJobs>(j => j.SetPriorityAsync(name, priority, CancellationToken.None));
            return true;
        }));
        routes.Add($"{DatasetsPage.Path}/{Limit}/{NamePattern}/(?<value>[a-z0-9]+)", Command((jobs, name, value) =>
        {
            if (!DatasetControlText.TryParseBatchCap(value, out var cap))
            {
                return false;
            }

            jobs.Enqueue<DatasetControlJobs>(j => j.SetBatchCapAsync(name, cap, CancellationToken.None));
            return true;
        }));
    }

    private static Func<IBackgroundJobClient, string, string, bool> Always(Action<IBackgroundJobClient, string> enqueue) => (jobs, name, _) =>
    {
        enqueue(jobs, name);
        return true;
    };

    // Every command names an existing dataset (422 otherwise) and may refuse its value.
    private static DashboardCommandDispatcher Command(Func<IBackgroundJobClient, string, string, bool> enqueue) =>
        new(async (context, http) =>
        {
            var name = Uri.UnescapeDataString(context.UriMatch.Groups["name"].Value);
            var value = context.UriMatch.Groups["value"].Value;
            return await http.RequestServices.GetRequiredService<ILabelStore>().GetDatasetControlAsync(name, http.RequestAborted) is not null
                && enqueue(context.GetBackgroundJobClient(), name, value);
        });
}
