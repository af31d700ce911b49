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
/// a worker of its own. Its result on the dashboard is the report's table.
/// </summary>
public sealed partial class DemoJob(
    IServiceProvider services, ILabelStore store, DemoStatus status, IOptions<ServerOptions> options, IConfiguration configuration, ILogger<DemoJob> logger)
{
    /// <summary>The Hangfire queue of the demo (it trains, like <c>retrain</c>).</summary>
    public const string QueueName = "training";

    [JobDisplayName("Bootstrap demo")]
    [AutomaticRetry(Attempts = 0)]
    [Queue(QueueName)]
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var demoOptions = options.Value.Demo.ToDemoOptions(runWorker: !ServerExtensions.RunsWorkersInProcess(configuration, options.Value));
        // Queued on an empty store, run maybe later (another server took the training queue): never
        // mix the demo's datasets and models into someone's own.
        if (await ForeignDataAsync(demoOptions, cancellationToken) is { } foreign)
        {
            LogSkipped(logger, foreign);
            return $"Skipped: the store holds {foreign}, so the demo would mix into it. `labeling demo` runs it against a data folder of its own.";
        }

        var demo = new BootstrapDemo(services, demoOptions);
        status.Start(demo.Stages);
        try
        {
            var report = await demo.RunAsync(status, cancellationToken);
            status.Finish(report);
            LogFinished(logger, report.Minutes, Path.GetFullPath(demoOptions.WorkFolder));
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

    private async Task<string?> ForeignDataAsync(DemoOptions demo, CancellationToken cancellationToken)
    {
        string[] datasets = [demo.BaseDataset, demo.TaggedDataset, demo.GoldDataset];
        var dataset = (await store.GetProgressAsync(null, cancellationToken)).FirstOrDefault(d => !datasets.Contains(d.Dataset, StringComparer.Ordinal));
        if (dataset is not null)
        {
            return $"dataset '{dataset.Dataset}'";
        }

        var model = (await store.ListModelsAsync(cancellationToken)).FirstOrDefault(m => !m.Version.StartsWith(demo.Prefix + "-", StringComparison.Ordinal));
        return model is null ? null : $"model '{model.Version}'";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The bootstrap demo job did not run: the store holds {What}.")]
    private static partial void LogSkipped(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "The bootstrap demo finished in {Minutes:F1} min; report in {Folder}.")]
    private static partial void LogFinished(ILogger logger, double minutes, string folder);
}
