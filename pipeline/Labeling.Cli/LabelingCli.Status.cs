using System.CommandLine;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command StatusCommand(CliContext context)
    {
        var datasetOption = new Option<string?>("--dataset") { Description = "Only this dataset." };
        var command = new Command("status", "Images by status per dataset, the active model and the label queue's depth.");
        command.Options.Add(datasetOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var store = services.GetRequiredService<ILabelStore>();
            var datasets = await store.GetProgressAsync(parse.GetValue(datasetOption), cancellationToken);
            var active = await store.GetActiveModelAsync(cancellationToken);
            var (depth, _) = await services.GetRequiredService<LabelQueues>().CountAsync(cancellationToken);
            var failures = await FailureSummaryAsync(services, parse.GetValue(datasetOption), cancellationToken);
            var deadLetters = await services.GetRequiredService<Labeling.Functions.Failures.FailureRecovery>().GetDeadLettersAsync(QueueLimits.MaxReceiveCount, cancellationToken);
            // Job control per dataset: state, priority, rate and ETA beside the counts.
            var activity = (await services.GetRequiredService<Labeling.Functions.Control.DatasetControl>().ListAsync(cancellationToken)).ToDictionary(a => a.Control.Name, StringComparer.Ordinal);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new
                {
                    datasets,
                    activeModel = active is null ? null : new { active.Version, active.Contract, space = active.EmbeddingSpace },
                    queueDepth = depth,
                    failures = failures.Select(f => new { dataset = f.Key, failed = f.Value.Failed, topReasons = f.Value.Top.Select(t => new { t.Reason, t.Count }) }),
                    deadLetters = deadLetters.Select(q => new { q.Queue, q.Count, q.LastError, q.LastFailedAt }),
                    control = datasets.Where(d => activity.ContainsKey(d.Dataset)).Select(d => DatasetJson(activity[d.Dataset])),
                });
                return 0;
            }

            var table = new Table().AddColumns("Dataset", "Images", "Pending", "Queued", "Labelled", "Failed", "Boxes", "State", "Priority", "Images/s", "ETA", "Top failure reasons");
            foreach (var d in datasets)
            {
                var a = activity.GetValueOrDefault(d.Dataset);
                table.AddRow(Markup.Escape(d.Dataset), $"{d.Images}", $"{d.Pending}", $"{d.Queued}", $"{d.Labelled}", $"{d.Failed}", $"{d.Boxes}",
                    a?.Control.State.ToText() ?? "", a?.Control.Priority.ToText() ?? "",
                    a?.ImagesPerSecond.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) ?? "", a is null ? "" : DatasetControlText.FormatEta(a.Eta),
                    Markup.Escape(failures.TryGetValue(d.Dataset, out var f) ? TopReasonsText(f.Top) : ""));
            }

            var console = context.Console();
            console.Write(table);
            console.WriteLine($"Active model: {(active is null ? "none: workers wait and take no batch until one is activated (`labeling models add FILE --version V --activate`)" : $"{active.Version} ({active.Contract})")}. Label queues: {depth} message(s).");
            foreach (var q in deadLetters.Where(q => q.Count > 0))
            {
                console.WriteLine($"Dead letters in {q.PoisonQueue}: {q.Count}; last error: {q.LastError ?? "?"} (`labeling deadletters --replay`).");
            }

            if (failures.Count > 0)
            {
                console.WriteLine("`labeling failures` lists the failed images, `labeling retry` sends them back.");
            }
            return 0;
        });
        return command;
    }
}
