using System.CommandLine;
using Labeling.Functions.Batches;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
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

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var worker = services.GetRequiredService<LabelWorker>().RunAsync(stop.Token);
            var idle = services.GetRequiredService<LabelIdle>();
            Task<DatasetProgress> WaitAsync(Action<DatasetProgress>? report) => idle.WaitAsync(worker, untilIdle, report, cancellationToken);

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
}
