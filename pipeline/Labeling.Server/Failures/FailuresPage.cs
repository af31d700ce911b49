using System.Globalization;
using System.Text;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Labeling.Functions.Failures;
using Labeling.Labels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server;

/// <summary>
/// The dashboard's Failures page (<c>/hangfire/failures</c>, opened from the Failed tile): failed images grouped by
/// dataset and reason with a few example paths and the error text, Retry buttons per reason, per dataset and per
/// (dataset, reason), and the dead letters of each label queue with a Replay button. The buttons post the dashboard
/// commands of <see cref="FailureCommands"/>. Every stored value is HTML-encoded (<see cref="RazorPage.Write"/>).
/// </summary>
internal sealed class FailuresPage : LabelingPage
{
    public const string Path = "/failures";
    internal const int ExamplesPerGroup = 5;

    public override void Execute()
    {
        Layout = new LayoutPage("Failures");
        var http = Context.GetHttpContext();
        // Hangfire renders pages synchronously; the store and queues are async only.
        var recovery = http.RequestServices.GetRequiredService<FailureRecovery>();
        var groups = recovery.GetGroupsAsync(null, null, ExamplesPerGroup, http.RequestAborted).GetAwaiter().GetResult();
        var letters = recovery.GetDeadLettersAsync(10, http.RequestAborted).GetAwaiter().GetResult();

        WriteLiteral("""<div class="row"><div class="col-md-12"><h1 class="page-header">Failed images</h1>""");
        WriteLiteral("""
            <p class="text-muted">A reason is the code before the first ": " of the image's error. Retry sets the images back to pending (the error is
            cleared, the attempts are kept) and queues them; the buttons queue an audited job (Jobs → Succeeded shows who asked and what it did).
            The CLI does the same: <code>labeling failures</code>, <code>labeling retry --dataset D --reason R</code>, <code>labeling deadletters --replay</code>.</p>
            """);
        if (groups.Count == 0)
        {
            WriteLiteral("""<div class="alert alert-success" data-testid="failures-empty">No failed images.</div>""");
        }
        else
        {
            ByReason(groups);
            foreach (var dataset in groups.GroupBy(g => g.Dataset, StringComparer.Ordinal))
            {
                Dataset(dataset.Key, dataset.ToList());
            }
        }

        DeadLetters(letters);
        WriteLiteral("</div></div>");
    }

    private void ByReason(IReadOnlyList<FailureGroup> groups)
    {
        WriteLiteral("""<h3>By reason</h3><table class="table table-condensed" data-testid="failures-reasons"><thead><tr><th>Reason</th><th class="text-right">Images</th><th>Datasets</th><th></th></tr></thead><tbody>""");
        foreach (var reason in groups.GroupBy(g => g.Reason, StringComparer.Ordinal).OrderByDescending(r => r.Sum(g => g.Count)).ThenBy(r => r.Key, StringComparer.Ordinal))
        {
            WriteLiteral("<tr data-testid=\"reason-row\" data-reason=\"");
            Write(reason.Key);
            WriteLiteral("\"><td><code>");
            Write(reason.Key);
            WriteLiteral("""</code></td><td class="text-right" data-testid="reason-count">""");
            Write(reason.Sum(g => g.Count).ToString(CultureInfo.InvariantCulture));
            WriteLiteral("</td><td>");
            Write(string.Join(", ", reason.Select(g => g.Dataset)));
            WriteLiteral("</td><td>");
            Button(FailureCommands.RetryUrl(null, reason.Key), "retry-reason", "Retry", "btn-primary", $"Send every image failed with {reason.Key} back to the queue?");
            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    private void Dataset(string dataset, IReadOnlyList<FailureGroup> groups)
    {
        WriteLiteral("<div class=\"panel panel-default\" data-testid=\"failures-dataset\" data-dataset=\"");
        Write(dataset);
        WriteLiteral("\"><div class=\"panel-heading\"><strong>");
        Write(dataset);
        WriteLiteral("""</strong> · <span data-testid="dataset-failed">""");
        Write(groups.Sum(g => g.Count).ToString(CultureInfo.InvariantCulture));
        WriteLiteral("</span> failed <span class=\"pull-right\">");
        Button(FailureCommands.RetryUrl(dataset, null), "retry-dataset", "Retry all of this dataset", "btn-primary", $"Send every failed image of {dataset} back to the queue?");
        WriteLiteral("""
            </span></div><table class="table table-condensed"><thead><tr><th>Reason</th><th class="text-right">Images</th><th>Examples (path: error)</th><th></th></tr></thead><tbody>
            """);
        foreach (var group in groups)
        {
            WriteLiteral("<tr data-testid=\"failure-group\" data-reason=\"");
            Write(group.Reason);
            WriteLiteral("\"><td><code>");
            Write(group.Reason);
            WriteLiteral("""</code></td><td class="text-right" data-testid="group-count">""");
            Write(group.Count.ToString(CultureInfo.InvariantCulture));
            WriteLiteral("</td><td><ul class=\"list-unstyled\">");
            foreach (var image in group.Examples)
            {
                WriteLiteral("""<li data-testid="failure-example"><a href="/api/images/""");
                Write(image.Id.ToString(CultureInfo.InvariantCulture));
                WriteLiteral("\"><code>");
                Write(image.BlobPath);
                WriteLiteral("</code></a> <small class=\"text-muted\">");
                Write(image.LastError ?? "");
                WriteLiteral("</small></li>");
            }

            if (group.Count > group.Examples.Count)
            {
                WriteLiteral("<li class=\"text-muted\">… and ");
                Write((group.Count - group.Examples.Count).ToString(CultureInfo.InvariantCulture));
                WriteLiteral(" more</li>");
            }

            WriteLiteral("</ul></td><td>");
            Button(FailureCommands.RetryUrl(dataset, group.Reason), "retry-group", "Retry", "btn-default", $"Send the images of {dataset} failed with {group.Reason} back to the queue?");
            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table></div>");
    }

    private void DeadLetters(IReadOnlyList<DeadLetterQueue> queues)
    {
        WriteLiteral("""
            <h3>Dead-lettered messages</h3>
            <p class="text-muted">Label messages given up on after their last delivery, in each label queue's poison queue. Replay sends each back to its queue;
            the images its dead-lettering marked failed go back to queued.</p>
            <table class="table table-condensed" data-testid="deadletters"><thead><tr><th>Queue</th><th>Poison queue</th><th class="text-right">Messages</th><th>Last failed (UTC)</th><th>Last error</th><th></th></tr></thead><tbody>
            """);
        foreach (var queue in queues)
        {
            WriteLiteral("<tr data-testid=\"deadletter-row\" data-queue=\"");
            Write(queue.Queue);
            WriteLiteral("\"><td>");
            Write(queue.Queue);
            WriteLiteral("</td><td>");
            Write(queue.PoisonQueue);
            WriteLiteral("""</td><td class="text-right" data-testid="deadletter-count">""");
            Write(queue.Count.ToString(CultureInfo.InvariantCulture));
            WriteLiteral("</td><td>");
            Write(queue.LastFailedAt?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "");
            WriteLiteral("""</td><td data-testid="deadletter-error"><small>""");
            Write(queue.LastError ?? "");
            WriteLiteral("</small></td><td>");
            if (queue.Count > 0)
            {
                Button(FailureCommands.ReplayUrl(queue.Queue), "replay", "Replay", "btn-warning", $"Send the dead letters of {queue.Queue} back to it?");
            }

            WriteLiteral("</td></tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    private void Button(string path, string testId, string text, string style, string confirm) =>
        CommandButton(Url.To(path), text, $"btn btn-sm {style}", confirm, testId);
}

/// <summary>
/// The Failures page's buttons as dashboard commands, with what they act on in the query string:
/// <c>POST /hangfire/failures/retry?dataset=D&amp;reason=R</c> (either may be left out: all) and
/// <c>POST /hangfire/failures/replay?queue=Q</c>. Each queues an audited <see cref="FailureJobs"/> job naming the caller and
/// answers 204; nothing to retry, or a queue that is not a label queue, answers 422 and queues nothing. Read-only
/// dashboards get 401, anything but POST 405; the antiforgery check happens before any dispatcher runs.
/// </summary>
internal static class FailureCommands
{
    public const string Retry = "/retry";
    public const string Replay = "/replay";

    public static string RetryUrl(string? dataset, string? reason)
    {
        var query = new StringBuilder();
        if (dataset is not null)
        {
            query.Append("dataset=").Append(Uri.EscapeDataString(dataset));
        }

        if (reason is not null)
        {
            query.Append(query.Length > 0 ? "&" : "").Append("reason=").Append(Uri.EscapeDataString(reason));
        }

        return $"{FailuresPage.Path}{Retry}{(query.Length > 0 ? "?" + query : "")}";
    }

    public static string ReplayUrl(string? queue) =>
        $"{FailuresPage.Path}{Replay}{(queue is null ? "" : "?queue=" + Uri.EscapeDataString(queue))}";

    public static void Register(RouteCollection routes)
    {
        routes.Add(FailuresPage.Path + Retry, Command(async (context, http, caller) =>
        {
            var dataset = Blank(context.Request.GetQuery("dataset"));
            var reason = Blank(context.Request.GetQuery("reason"));
            var recovery = http.RequestServices.GetRequiredService<FailureRecovery>();
            if ((await recovery.GetGroupsAsync(dataset, reason, 0, http.RequestAborted)).Count == 0)
            {
                return false;
            }

            context.GetBackgroundJobClient().Enqueue<FailureJobs>(j => j.RetryAsync(dataset, reason, caller, CancellationToken.None));
            return true;
        }));
        routes.Add(FailuresPage.Path + Replay, Command((context, http, caller) =>
        {
            var queue = Blank(context.Request.GetQuery("queue"));
            if (queue is not null && !http.RequestServices.GetRequiredService<FailureRecovery>().LabelQueues.Contains(queue, StringComparer.Ordinal))
            {
                return Task.FromResult(false);
            }

            context.GetBackgroundJobClient().Enqueue<FailureJobs>(j => j.ReplayAsync(queue, caller, CancellationToken.None));
            return Task.FromResult(true);
        }));
    }

    /// <summary>Who asked, for the audit: the signed-in user, a bearer-token holder or a loopback caller, and from where.</summary>
    internal static string Caller(HttpContext http)
    {
        var from = http.Connection.RemoteIpAddress?.ToString() ?? "unknown address";
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    return $"user {decoded[..colon]} ({from})";
                }
            }
            catch (FormatException)
            {
            }
        }

        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? $"token holder ({from})" : $"local caller ({from})";
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static DashboardCommandDispatcher Command(Func<DashboardContext, HttpContext, string, Task<bool>> run) =>
        new((context, http) => run(context, http, Caller(http)));
}
