using System.Globalization;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server;

/// <summary>
/// Labelling progress and the bootstrap demo as tiles on the dashboard's home page, the Models page
/// (<see cref="ModelsPage"/>) with its commands, and a link to the review page. Hangfire keeps metrics,
/// routes and menu items in process-wide lists, so they are added once and look up the host of the
/// request that renders them.
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
            new DashboardMetric("labeling:model", "Active model", page => ModelMetric(Read(page))),
            new DashboardMetric("labeling:workers", "Workers", page => WorkersMetric(Read(page).Workers)),
            new DashboardMetric("labeling:dead-lettered", "Dead-lettered", page => Read(page).DeadLettered is { } count
                ? new Metric(count) { Style = count > 0 ? MetricStyle.Danger : MetricStyle.Default }
                : new Metric("unreachable") { Style = MetricStyle.Danger }),
            new DashboardMetric("labeling:demo", "Bootstrap demo", page => DemoMetric(Read(page).Demo)),
            new DashboardMetric("labeling:retrain", "Retraining", page => RetrainMetric(Read(page).Retrain)));
        DashboardRoutes.Routes.AddRazorPage(ModelsPage.Path, _ => new ModelsPage());
        ModelCommands.Register(DashboardRoutes.Routes);
        NavigationMenu.Items.Add(page => new MenuItem("Models", page.Url.To(ModelsPage.Path)) { Active = page.RequestPath.StartsWith(ModelsPage.Path, StringComparison.Ordinal) });
        RegisterFailures();
        // Job control per dataset: pause, resume, cancel, priority, cap, with rate and ETA.
        DashboardRoutes.Routes.AddRazorPage(DatasetsPage.Path, _ => new DatasetsPage());
        DatasetCommands.Register(DashboardRoutes.Routes);
        NavigationMenu.Items.Add(page => new MenuItem("Datasets", page.Url.To(DatasetsPage.Path)) { Active = page.RequestPath.StartsWith(DatasetsPage.Path, StringComparison.Ordinal) });
        DashboardRoutes.Routes.AddRazorPage(DemoPage.Path, _ => new DemoPage());
        DemoCommands.Register(DashboardRoutes.Routes);
        NavigationMenu.Items.Add(page => new MenuItem("Demo", page.Url.To(DemoPage.Path)) { Active = page.RequestPath.StartsWith(DemoPage.Path, StringComparison.Ordinal) });
        NavigationMenu.Items.Add(_ => new MenuItem("Review", "/review"));
        NavigationMenu.Items.Add(_ => new MenuItem("API", "/openapi/v1.json"));
    }

    /// <summary>The Failures page, its commands, its menu item, and the script that makes the Failed tile open it.</summary>
    private static void RegisterFailures()
    {
        DashboardRoutes.Routes.AddRazorPage(FailuresPage.Path, _ => new FailuresPage());
        FailureCommands.Register(DashboardRoutes.Routes);
        DashboardRoutes.AddJavaScript(typeof(FailuresPage).Assembly, "Labeling.Server.Failures.failures-tile.js");
        NavigationMenu.Items.Add(page => new MenuItem("Failures", page.Url.To(FailuresPage.Path)) { Active = page.RequestPath.StartsWith(FailuresPage.Path, StringComparison.Ordinal) });
    }

    /// <summary>The active model; red when this host's workers could not load it and label with an older one.</summary>
    internal static Metric ModelMetric(ProgressSnapshot progress) => progress switch
    {
        { ActiveModel: null } => new Metric("none") { Style = MetricStyle.Warning },
        { ModelLoadFailure: { } failed } when failed.Version == progress.ActiveModel =>
            new Metric($"{failed.Version} failed to load · labelling with {progress.ModelInUse ?? "none"}") { Style = MetricStyle.Danger, Highlighted = true },
        _ => new Metric(progress.ActiveModel) { Style = MetricStyle.Success },
    };

    /// <summary>This host's label workers: labelling, or waiting and why (no model: a warning; an outage: red).</summary>
    internal static Metric WorkersMetric(Labeling.Functions.Batches.LabelReadinessState? workers) => workers switch
    {
        null => new Metric("in other processes"),
        { Ready: true } => new Metric(workers.Detail) { Style = MetricStyle.Success },
        { Reason: null } => new Metric("starting"),
        { Reason: Labeling.Functions.Batches.LabelWaitReason.Outage } => new Metric("waiting: storage does not answer") { Style = MetricStyle.Danger, Highlighted = true },
        { Reason: Labeling.Functions.Batches.LabelWaitReason.ModelUnusable } => new Metric("waiting: the active model cannot be used") { Style = MetricStyle.Danger, Highlighted = true },
        _ => new Metric("waiting for a model") { Style = MetricStyle.Warning, Highlighted = true },
    };

    /// <summary>The demo job in this host: its stage and overall percent while it runs, then done or failed.</summary>
    internal static Metric DemoMetric(DemoSnapshot? demo) => demo switch
    {
        null => new Metric("not run"),
        { State: DemoState.Running } => new Metric(string.Create(CultureInfo.InvariantCulture, $"{demo.Fraction:P0} · {demo.StageIndex + 1}/{demo.StageCount} {demo.Stage}"))
        {
            Style = MetricStyle.Info,
            Highlighted = true,
        },
        { State: DemoState.Finished } => new Metric(string.Create(CultureInfo.InvariantCulture, $"done in {demo.Report?.Minutes ?? 0:F1} min")) { Style = MetricStyle.Success },
        // Where to go from here: the Demo page (menu) runs it again under a new prefix.
        _ => new Metric(demo.Stage is null ? "failed · Demo page: run again" : $"failed at {demo.Stage} · Demo page: run again") { Style = MetricStyle.Danger },
    };

    /// <summary>The latest retraining run in this host: percent while it runs, then promoted, rejected or failed.</summary>
    internal static Metric RetrainMetric(RetrainSnapshot? run) => run switch
    {
        null => new Metric("not run"),
        { Running: true } => new Metric(string.Create(CultureInfo.InvariantCulture, $"{run.Fraction:P0} · {run.Detail}")) { Style = MetricStyle.Info, Highlighted = true },
        { Error: not null } => new Metric("failed") { Style = MetricStyle.Danger },
        { Promoted: true } => new Metric("promoted") { Style = MetricStyle.Success },
        _ => new Metric("rejected") { Style = MetricStyle.Warning },
    };

    private static DashboardMetric Tile(string name, string title, Func<ProgressSnapshot, long> value, Func<ProgressSnapshot, MetricStyle> style) =>
        new(name, title, page =>
        {
            var progress = Read(page);
            return new Metric(value(progress)) { Style = style(progress) };
        });

    private static ProgressSnapshot Read(RazorPage page) =>
        page.Context.GetHttpContext().RequestServices.GetRequiredService<ProgressReader>().ReadCached();
}
