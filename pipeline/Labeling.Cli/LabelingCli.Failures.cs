using System.CommandLine;
using System.Globalization;
using Labeling.Functions.Failures;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

// failures, retry, deadletters: failures a user can see and act on (docs/failures.md). The rules live in FailureRecovery.
public static partial class LabelingCli
{
    private static Command FailuresCommand(CliContext context)
    {
        var datasetOption = new Option<string?>("--dataset") { Description = "Only this dataset." };
        var reasonOption = new Option<string?>("--reason") { Description = "Only this reason (the code before the first ': ' of the error, e.g. missing-blob)." };
        var limitOption = new Option<int>("--limit") { Description = "At most this many images (1–10000).", DefaultValueFactory = _ => 1000 };
        var command = new Command("failures", "List the failed images with their dataset, reason and error; `labeling retry` sends them back to the queue.");
        command.Options.Add(datasetOption);
        command.Options.Add(reasonOption);
        command.Options.Add(limitOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var limit = parse.GetValue(limitOption);
            if (limit is < 1 or > 10_000)
            {
                throw new CliException("--limit must be 1–10000.");
            }

            var recovery = services.GetRequiredService<FailureRecovery>();
            var images = await recovery.ListAsync(parse.GetValue(datasetOption), parse.GetValue(reasonOption), 0, limit, cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, images);
                return 0;
            }

            if (images.Count == 0)
            {
                await context.Output.WriteLineAsync("No failed images.");
                return 0;
            }

            var table = new Table().AddColumns("Image", "Dataset", "Path", "Reason", "Attempts", "Error");
            foreach (var image in images)
            {
                table.AddRow(image.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(image.Dataset), Markup.Escape(image.BlobPath),
                    Markup.Escape(image.Reason), image.Attempts.ToString(CultureInfo.InvariantCulture), Markup.Escape(image.LastError ?? ""));
            }

            context.Console().Write(table);
            if (images.Count == limit)
            {
                await context.Output.WriteLineAsync($"The first {limit} shown; --limit shows more.");
            }

            return 0;
        });
        return command;
    }

    private static Command RetryCommand(CliContext context)
    {
        var datasetOption = new Option<string?>("--dataset") { Description = "Only this dataset." };
        var reasonOption = new Option<string?>("--reason") { Description = "Only this reason (e.g. missing-blob)." };
        var command = new Command("retry", "Send failed images back to the label queue: failed → pending (error cleared, attempts kept), then queued with the dataset's other pending images.");
        command.Options.Add(datasetOption);
        command.Options.Add(reasonOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var result = await services.GetRequiredService<FailureRecovery>().RetryAsync(parse.GetValue(datasetOption), parse.GetValue(reasonOption), cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, result);
                return 0;
            }

            await context.Output.WriteLineAsync(result.Images == 0
                ? "No failed images matched: nothing queued."
                : $"{result.Images} failed image(s) sent back; {result.Batches} batch(es) queued. `labeling work --until-idle` (or the workers) label them.");
            return 0;
        });
        return command;
    }

    private static Command DeadLettersCommand(CliContext context)
    {
        var replayOption = new Option<bool>("--replay") { Description = "Send the dead-lettered messages back to their label queue (their images that the dead-lettering failed go back to queued)." };
        var queueOption = new Option<string?>("--queue") { Description = "Only this label queue." };
        var maxOption = new Option<int>("--max") { Description = "With --replay: at most this many messages per run.", DefaultValueFactory = _ => 1000 };
        var command = new Command("deadletters", "The dead-lettered (poison) messages of each label queue: count and last error; --replay sends them back.");
        command.Options.Add(replayOption);
        command.Options.Add(queueOption);
        command.Options.Add(maxOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var recovery = services.GetRequiredService<FailureRecovery>();
            var queue = parse.GetValue(queueOption);
            if (queue is not null && !recovery.LabelQueues.Contains(queue, StringComparer.Ordinal))
            {
                throw new CliException($"'{queue}' is not a label queue; the label queues are {string.Join(", ", recovery.LabelQueues)}.");
            }

            var json = parse.GetValue(context.JsonOption);
            if (parse.GetValue(replayOption))
            {
                if (parse.GetValue(maxOption) < 1)
                {
                    throw new CliException("--max must be at least 1.");
                }

                var result = await recovery.ReplayAsync(queue, parse.GetValue(maxOption), cancellationToken);
                if (json)
                {
                    await WriteJsonAsync(context.Output, result);
                    return 0;
                }

                await context.Output.WriteLineAsync($"{result.Messages} dead-lettered message(s) replayed; {result.Images} image(s) back to queued"
                    + (result.Skipped > 0 ? $"; {result.Skipped} unreadable message(s) left in place." : "."));
                return 0;
            }

            var queues = (await recovery.GetDeadLettersAsync(QueueLimits.MaxReceiveCount, cancellationToken))
                .Where(q => queue is null || q.Queue == queue).ToList();
            if (json)
            {
                await WriteJsonAsync(context.Output, queues);
                return 0;
            }

            var table = new Table().AddColumns("Queue", "Poison queue", "Messages", "Last failed (UTC)", "Last error");
            foreach (var q in queues)
            {
                table.AddRow(Markup.Escape(q.Queue), Markup.Escape(q.PoisonQueue), q.Count.ToString(CultureInfo.InvariantCulture),
                    q.LastFailedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "", Markup.Escape(q.LastError ?? ""));
            }

            context.Console().Write(table);
            if (queues.Any(q => q.Count > 0))
            {
                await context.Output.WriteLineAsync("`labeling deadletters --replay` sends them back to their queue.");
            }

            return 0;
        });
        return command;
    }

    /// <summary>The failed count and the three most common reasons of each dataset, for <c>status</c>.</summary>
    private static async Task<Dictionary<string, (long Failed, IReadOnlyList<(string Reason, long Count)> Top)>> FailureSummaryAsync(
        ServiceProvider services, string? dataset, CancellationToken cancellationToken)
    {
        var groups = await services.GetRequiredService<FailureRecovery>().GetGroupsAsync(dataset, null, 0, cancellationToken);
        return groups.GroupBy(g => g.Dataset, StringComparer.Ordinal).ToDictionary(
            g => g.Key,
            g => (g.Sum(x => x.Count), (IReadOnlyList<(string, long)>)g.Take(3).Select(x => (x.Reason, x.Count)).ToList()),
            StringComparer.Ordinal);
    }

    private static string TopReasonsText(IReadOnlyList<(string Reason, long Count)> top) =>
        string.Join(", ", top.Select(t => $"{t.Reason} ({t.Count})"));
}
