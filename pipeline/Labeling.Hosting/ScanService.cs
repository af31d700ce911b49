using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Labeling.Functions.Ingest;
using Microsoft.Extensions.Options;

namespace Labeling.Hosting;

/// <summary>
/// Runs the inbox scan every <see cref="WorkerOptions.ScanInterval"/> when one is configured (the
/// embedded, one-process set-up); otherwise does nothing and leaves scanning to the scheduler.
/// A failed scan is logged and tried again at the next tick; the checkpoint makes it resume.
/// </summary>
internal sealed partial class ScanService(InboxScanner scanner, IOptions<WorkerOptions> options, ILogger<ScanService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ScanInterval is not { } interval || interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                var report = await scanner.ScanAsync(stoppingToken);
                Log.Scanned(logger, report.BlobsListed, report.ImagesCreated, report.MessagesSent, report.Problems.Count);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.ScanFailed(logger, interval, e);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Inbox scan: {Listed} blob(s) listed, {Created} new image(s), {Messages} message(s) sent, {Problems} problem(s).")]
        public static partial void Scanned(ILogger logger, int listed, int created, int messages, int problems);

        [LoggerMessage(Level = LogLevel.Error, Message = "Inbox scan failed; trying again in {Interval}.")]
        public static partial void ScanFailed(ILogger logger, TimeSpan interval, Exception exception);
    }
}
