using System.CommandLine;
using Labeling.Functions.Batches;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private static Command WorkCommand(CliContext context)
    {
        var untilIdleOption = new Option<bool>("--until-idle") { Description = "Stop once no image is pending or queued and the label queue is empty (otherwise run until Ctrl+C)." };
        var command = new Command("work", "Label the queued images in this process with the active model.");
        command.Options.Add(untilIdleOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var untilIdle = parse.GetValue(untilIdleOption);
            var json = parse.GetValue(context.JsonOption);
            var store = services.GetRequiredService<ILabelStore>();
            if (await store.GetActiveModelAsync(cancellationToken) is null)
            {
                throw new CliException("No model is active: add one with `labeling models add FILE --version V --activate`.");
            }

            var queue = services.GetRequiredService<IWorkQueueFactory>().GetQueue(services.GetRequiredService<IOptions<IngestOptions>>().Value.LabelQueue);
            await queue.CreateIfNotExistsAsync(cancellationToken);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var worker = services.GetRequiredService<LabelWorker>().RunAsync(stop.Token);

            var rescanned = false;
            async Task<DatasetProgress> WaitAsync(Action<DatasetProgress>? report)
            {
                while (true)
                {
                    var progress = Sum(await store.GetProgressAsync(null, cancellationToken));
                    report?.Invoke(progress);
                    if (worker.IsCompleted)
                    {
                        await worker; // a worker that stopped by itself: surface why
                        return progress;
                    }

                    if (untilIdle && progress.Queued == 0 && await queue.GetApproximateCountAsync(cancellationToken) == 0)
                    {
                        if (progress.Pending == 0)
                        {
                            return progress;
                        }

                        if (rescanned)
                        {
                            throw new CliException($"{progress.Pending} image(s) are pending but nothing queues them: run `labeling ingest` (or the worker host's scan).");
                        }

                        // Pending images nobody queued (an interrupted scan): one scan queues them.
                        rescanned = true;
                        await services.GetRequiredService<InboxScanner>().ScanAsync(cancellationToken);
                        continue;
                    }

                    await Task.Delay(PollInterval, cancellationToken);
                }
            }

            DatasetProgress done;
            try
            {
                if (json || !untilIdle)
                {
                    done = await WaitAsync(null);
                }
                else
                {
                    DatasetProgress? last = null;
                    await context.Console().Progress().StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("Labelling (labelled + failed / images)");
                        last = await WaitAsync(p =>
                        {
                            task.MaxValue = Math.Max(p.Images, 1);
                            task.Value = p.Labelled + p.Failed;
                        });
                        task.Value = task.MaxValue;
                    });
                    done = last!;
                }
            }
            finally
            {
                await stop.CancelAsync();
                try
                {
                    await worker;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // the normal way the worker ends
                }
            }

            if (json)
            {
                await WriteJsonAsync(context.Output, new { done.Images, done.Pending, done.Queued, done.Labelled, done.Failed, done.Boxes });
            }
            else
            {
                await context.Output.WriteLineAsync($"Idle: {done.Labelled} labelled, {done.Failed} failed, {done.Pending} pending, {done.Queued} queued of {done.Images} image(s); {done.Boxes} box(es).");
            }

            return 0;
        });
        return command;
    }

    private static DatasetProgress Sum(IReadOnlyList<DatasetProgress> datasets) => new(
        "*",
        datasets.Sum(d => d.Images),
        datasets.Sum(d => d.Pending),
        datasets.Sum(d => d.Queued),
        datasets.Sum(d => d.Labelled),
        datasets.Sum(d => d.Failed),
        datasets.Sum(d => d.Boxes));
}
