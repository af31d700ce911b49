using System.Globalization;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Labeling.Labels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server;

/// <summary>
/// The dashboard's Demo page (<c>/hangfire/demo</c>): this host's demo job (stage, error, report), the demo runs the
/// store holds (<see cref="DemoRuns"/>) and a "Run the demo again" button that queues <see cref="DemoJob.RunAgainAsync"/>
/// under the next prefix, so a run that failed (or a store that is not fresh) gets a new, separate run. Values are
/// HTML-encoded.
/// </summary>
internal sealed class DemoPage : LabelingPage
{
    public const string Path = "/demo";

    public override void Execute()
    {
        Layout = new LayoutPage("Demo");
        var http = Context.GetHttpContext();
        var store = http.RequestServices.GetRequiredService<ILabelStore>();
        var current = http.RequestServices.GetRequiredService<DemoStatus>().Current;
        // Hangfire renders pages synchronously; the store is async only.
        var inventory = DemoRuns.ReadAsync(store, http.RequestAborted).GetAwaiter().GetResult();

        WriteLiteral("""<div class="row"><div class="col-md-12"><h1 class="page-header">Bootstrap demo</h1>""");
        WriteLiteral("""<p class="text-muted">A generated world labelled, retrained on and evaluated (README: "The bootstrap demo"). Each run keeps its own datasets, models and report.</p>""");
        WriteCurrent(current);
        WriteRuns(inventory);
        WriteRunAgain(inventory, current);
        WriteLiteral("</div></div>");
    }

    private void WriteCurrent(DemoSnapshot? current)
    {
        if (current is null)
        {
            WriteLiteral("""<div class="alert alert-info" data-testid="demo-current">No demo job ran in this host since it started.</div>""");
            return;
        }

        var (style, text) = current.State switch
        {
            DemoState.Running => ("alert-info", "running"),
            DemoState.Finished => ("alert-success", "finished"),
            _ => ("alert-danger", "failed"),
        };
        WriteLiteral($"""<div class="alert {style}" data-testid="demo-current"><strong>""");
        Write(current.Prefix ?? DemoRuns.FirstPrefix);
        WriteLiteral(": ");
        Write(text);
        WriteLiteral("</strong> · ");
        Write(string.Create(CultureInfo.InvariantCulture, $"stage {current.StageIndex + 1}/{current.StageCount} {current.Stage} · {current.Fraction:P0}"));
        if (current.Error is { } error)
        {
            WriteLiteral("""<br><span data-testid="demo-error">""");
            Write(error);
            WriteLiteral("</span><br>The button below runs it again under a new prefix, beside what this run left.");
        }

        WriteLiteral("</div>");
        if (current.Report is { } report)
        {
            WriteLiteral("""<pre data-testid="demo-report">""");
            Write(report.ToMarkdown());
            WriteLiteral("</pre>");
        }
    }

    private void WriteRuns(DemoInventory inventory)
    {
        if (inventory.Runs.Count == 0)
        {
            return;
        }

        WriteLiteral("""<h3>Runs in the store</h3><table class="table" data-testid="demo-runs"><thead><tr><th>Prefix</th><th>Datasets</th><th class="text-right">Images</th><th class="text-right">Labelled</th><th class="text-right">Failed</th><th>Models</th></tr></thead><tbody>""");
        foreach (var run in inventory.Runs)
        {
            WriteLiteral("""<tr data-testid="demo-run" data-prefix=""");
            WriteLiteral("\"");
            Write(run.Prefix);
            WriteLiteral("\"><td>");
            Write(run.Prefix);
            WriteLiteral("</td><td>");
            Write(string.Join(", ", run.Datasets.Select(d => d.Dataset)));
            WriteLiteral("</td><td class=\"text-right\">");
            Write(run.Datasets.Sum(d => d.Images).ToString(CultureInfo.InvariantCulture));
            WriteLiteral("</td><td class=\"text-right\">");
            Write(run.Datasets.Sum(d => d.Labelled).ToString(CultureInfo.InvariantCulture));
            WriteLiteral(run.Failed > 0 ? "</td><td class=\"text-right text-danger\">" : "</td><td class=\"text-right\">");
            Write(run.Failed.ToString(CultureInfo.InvariantCulture));
            WriteLiteral("</td><td>");
            Write(string.Join(", ", run.Models.Select(m => m.Version)));
            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    private void WriteRunAgain(DemoInventory inventory, DemoSnapshot? current)
    {
        if (inventory.Foreign is { } foreign)
        {
            WriteLiteral("""<div class="alert alert-warning" data-testid="demo-refused">The store holds """);
            Write(foreign);
            WriteLiteral(", so a demo run here would mix into your data. <code>labeling demo</code> runs it against a data folder of its own.</div>");
            return;
        }

        if (current is { State: DemoState.Running } || DemoRuns.AnyDemoJobQueuedOrRunning(Storage))
        {
            WriteLiteral("""<p data-testid="demo-busy">A demo runs now; it can be run again once it ends.</p>""");
            return;
        }

        var next = inventory.NextPrefix;
        CommandButton(
            Url.To($"{Path}/{DemoCommands.RunAgain}/{next}"),
            inventory.Runs.Count == 0 ? "Run the demo" : $"Run the demo again (as {next})",
            "btn btn-primary",
            $"Run the bootstrap demo again as {next}? It trains for several minutes and keeps the earlier runs.",
            "demo-run-again");
    }
}

/// <summary>
/// The Demo page's command: <c>POST /hangfire/demo/run/{prefix}</c> queues the demo under <c>prefix</c>, which must be
/// the store's next free prefix (a stale page gets 422), with no foreign data and no demo job queued or running.
/// Read-only dashboards get 401, anything but POST 405, success 204; the antiforgery check runs before.
/// </summary>
internal static class DemoCommands
{
    public const string RunAgain = "run";

    public static void Register(RouteCollection routes) =>
        routes.Add($"{DemoPage.Path}/{RunAgain}/(?<prefix>demo(?:-[0-9]{{1,6}})?)", new DashboardCommandDispatcher(async (context, http) =>
        {
            var prefix = context.UriMatch.Groups["prefix"].Value;
            var inventory = await DemoRuns.ReadAsync(http.RequestServices.GetRequiredService<ILabelStore>(), http.RequestAborted);
            var running = http.RequestServices.GetRequiredService<DemoStatus>().Current is { State: DemoState.Running }
                || DemoRuns.AnyDemoJobQueuedOrRunning(http.RequestServices.GetRequiredService<JobStorage>());
            if (inventory.Foreign is not null || running || prefix != inventory.NextPrefix)
            {
                return false;
            }

            context.GetBackgroundJobClient().Enqueue<DemoJob>(DemoJob.QueueName, j => j.RunAgainAsync(prefix, CancellationToken.None));
            return true;
        }));
}
