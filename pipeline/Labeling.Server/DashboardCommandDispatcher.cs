using Hangfire.Dashboard;
using Microsoft.AspNetCore.Http;

namespace Labeling.Server;

/// <summary>
/// The contract every dashboard command of this host keeps (Models, Datasets, Failures and Demo pages): a read-only
/// dashboard gets 401, anything but POST 405; otherwise <c>run</c> checks what the command names and queues its job,
/// answering 204, or 422 when it refuses (a stale page, an unknown name) and queued nothing. Hangfire's own
/// <c>AddCommand</c> takes a synchronous delegate; these await the store. The antiforgery check (the host registers
/// it) happens before any dispatcher runs.
/// </summary>
internal sealed class DashboardCommandDispatcher(Func<DashboardContext, HttpContext, Task<bool>> run) : IDashboardDispatcher
{
    public async Task Dispatch(DashboardContext context)
    {
        if (context.IsReadOnly)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var http = context.GetHttpContext();
        context.Response.StatusCode = await run(context, http) ? StatusCodes.Status204NoContent : StatusCodes.Status422UnprocessableEntity;
    }
}

/// <summary>A dashboard page of this host: Hangfire's layout plus the button that posts a <see cref="DashboardCommandDispatcher"/> command (none for a read-only dashboard).</summary>
internal abstract class LabelingPage : RazorPage
{
    /// <summary>
    /// A button that Hangfire's script posts to <paramref name="url"/> (with the antiforgery token) after the browser's
    /// confirm dialog shows <paramref name="confirm"/>. Every value is HTML-encoded.
    /// </summary>
    protected void CommandButton(string url, string text, string classes, string confirm, string testId)
    {
        if (IsReadOnly)
        {
            return; // a caller below admin: the gate would refuse the command anyway
        }

        WriteLiteral("<button type=\"button\" class=\"");
        Write(classes);
        WriteLiteral("\" data-testid=\"");
        Write(testId);
        WriteLiteral("\" data-ajax=\"");
        Write(url);
        WriteLiteral("\" data-confirm=\"");
        Write(confirm);
        WriteLiteral("\" data-loading-text=\"…\">");
        Write(text);
        WriteLiteral("</button> ");
    }
}
