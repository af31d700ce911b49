using Hangfire;
using Hangfire.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server;

/// <summary>
/// Labelling progress as tiles on the dashboard's home page, and a link to the review page.
/// Hangfire keeps metrics and menu items in process-wide lists, so they are added once and look
/// up the host of the request that renders them.
/// </summary>
internal static class DashboardTiles
{
    private static int _registered;

    public static void RegisterOnce()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1)
        {
            return;
        }

        GlobalConfiguration.Configuration.UseDashboardMetrics(
            Tile("labeling:pending", "Images pending", p => p.Pending + p.Queued, p => p.Pending + p.Queued > 0 ? MetricStyle.Warning : MetricStyle.Default),
            Tile("labeling:labelled", "Images labelled", p => p.Labelled, _ => MetricStyle.Success),
            Tile("labeling:failed", "Images failed", p => p.Failed, p => p.Failed > 0 ? MetricStyle.Danger : MetricStyle.Default),
            Tile("labeling:boxes", "Boxes", p => p.Boxes, _ => MetricStyle.Info),
            new DashboardMetric("labeling:queue", "Label queue depth", page =>
            {
                var progress = Read(page);
                return progress.QueueDepth is { } depth
                    ? new Metric(depth)
                    : new Metric("unreachable") { Style = MetricStyle.Danger };
            }),
            new DashboardMetric("labeling:model", "Active model", page =>
            {
                var progress = Read(page);
                return new Metric(progress.ActiveModel ?? "none") { Style = progress.ActiveModel is null ? MetricStyle.Warning : MetricStyle.Success };
            }));
        NavigationMenu.Items.Add(_ => new MenuItem("Review", "/review"));
        NavigationMenu.Items.Add(_ => new MenuItem("API", "/openapi/v1.json"));
    }

    private static DashboardMetric Tile(string name, string title, Func<ProgressSnapshot, long> value, Func<ProgressSnapshot, MetricStyle> style) =>
        new(name, title, page =>
        {
            var progress = Read(page);
            return new Metric(value(progress)) { Style = style(progress) };
        });

    private static ProgressSnapshot Read(RazorPage page) =>
        page.Context.GetHttpContext().RequestServices.GetRequiredService<ProgressReader>().ReadCached();
}
