using Hangfire;
using Labeling.Bootstrap;
using Labeling.Labels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// The bootstrap demo as a Hangfire job: <see cref="BootstrapDemo"/> with the host's
/// <see cref="DemoSettings"/>, reporting into <see cref="DemoStatus"/>. When the host runs the label
/// workers (embedded mode) they label and the job only waits for them; otherwise the job labels with
/// a worker of its own. Its result on the dashboard is the report's table. The fresh-start run takes the prefix
/// <c>demo</c>; "Run the demo again" (<see cref="DemoPage"/>) runs under the next free one (<see cref="DemoRuns"/>).
/// </summary>
public sealed partial class DemoJob(
    IServiceProvider services, ILabelStore store, DemoStatus status, IOptions<ServerOptions> options, IConfiguration configuration, ILogger<DemoJob> logger)
{
    /// <summary>The Hangfire queue of the demo (it trains, like <c>retrain</c>).</summary>
    public const string QueueName = "training";

    /// <summary>The fresh-start run (prefix <c>demo</c>).</summary>
    [JobDisplayName("Bootstrap demo")]
    [AutomaticRetry(Attempts = 0)]
    [Queue(QueueName)]
    public Task<string> RunAsync(CancellationToken cancellationToken) => RunAsync(DemoRuns.FirstPrefix, cancellationToken);

    /// <summary>A run under <paramref name="prefix"/> (<c>demo-N</c>), beside the earlier runs' datasets and models.</summary>
    [JobDisplayName("Bootstrap demo again, as {0}")]
    [AutomaticRetry(Attempts = 0)]
    [Queue(QueueName)]
    public Task<string> RunAgainAsync(string prefix, CancellationToken cancellationToken)
    {
        if (!DemoRuns.IsPrefix(prefix))
        {
            throw new ArgumentException($"'{prefix}' is not a demo prefix (demo or demo-N).", nameof(prefix));
        }

        return RunAsync(prefix, cancellationToken);
    }

    private async Task<string> RunAsync(string prefix, CancellationToken cancellationToken)
    {
        var settings = options.Value.Demo;
        var configured = settings.ToDemoOptions(runWorker: !ServerExtensions.RunsWorkersInProcess(configuration, options.Value));
        var demoOptions = configured with { Prefix = prefix, WorkFolder = DemoRuns.WorkFolder(configured.WorkFolder, prefix) };
        // Queued on an empty store, run maybe later (another server took the training queue): never
        // mix the demo's datasets and models into someone's own.
        var inventory = await DemoRuns.ReadAsync(store, cancellationToken);
        if (inventory.Foreign is { } foreign)
        {
            LogSkipped(logger, foreign);
            return $"Skipped: the store holds {foreign}, so the demo would mix into it. `labeling demo` runs it against a data folder of its own.";
        }

        if (inventory.Runs.Any(r => r.Prefix == prefix))
        {
            LogSkipped(logger, $"demo run '{prefix}'");
            return $"Skipped: the store holds demo run '{prefix}' already; run it again as {inventory.NextPrefix} (the dashboard's Demo page).";
        }

        var demo = new BootstrapDemo(services, demoOptions);
        status.Start(demo.Stages, prefix);
        try
        {
            var report = await demo.RunAsync(status, cancellationToken);
            status.Finish(report);
            LogFinished(logger, prefix, report.Minutes, Path.GetFullPath(demoOptions.WorkFolder));
            return report.ToMarkdown();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status.Fail("stopped: the host is shutting down");
            throw;
        }
        catch (Exception e)
        {
            status.Fail(e.Message);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The bootstrap demo job did not run: the store holds {What}.")]
    private static partial void LogSkipped(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "The bootstrap demo ({Prefix}) finished in {Minutes:F1} min; report in {Folder}.")]
    private static partial void LogFinished(ILogger logger, string prefix, double minutes, string folder);
}
