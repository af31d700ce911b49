using System.CommandLine;
using System.Globalization;
using Labeling.Functions.Control;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    /// <summary><c>labeling datasets</c>: every dataset with its control settings, counts, rate and ETA.</summary>
    private static Command DatasetsCommand(CliContext context)
    {
        var command = new Command("datasets", "List the datasets with their state, priority, batch cap, counts, running batches, rate and ETA.");
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var control = services.GetRequiredService<DatasetControl>();
            var datasets = await control.ListAsync(cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, datasets.Select(DatasetJson));
                return 0;
            }

            if (datasets.Count == 0)
            {
                await context.Output.WriteLineAsync("No datasets yet: `labeling ingest`.");
                return 0;
            }

            var table = new Table().AddColumns("Dataset", "State", "Priority", "Cap", "Running", "Pending", "Queued", "Labelled", "Failed", "Images/s", "ETA");
            foreach (var d in datasets)
            {
                table.AddRow(
                    Markup.Escape(d.Control.Name), d.Control.State.ToText(), d.Control.Priority.ToText(),
                    d.Control.MaxConcurrentBatches?.ToString(CultureInfo.InvariantCulture) ?? "none", $"{d.RunningBatches}",
                    $"{d.Progress.Pending}", $"{d.Progress.Queued}", $"{d.Progress.Labelled}", $"{d.Progress.Failed}",
                    d.ImagesPerSecond.ToString("0.00", CultureInfo.InvariantCulture), DatasetControlText.FormatEta(d.Eta));
            }

            context.Console().Write(table);
            await context.Output.WriteLineAsync($"Rate over the last {control.RateWindow.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} minute(s).");
            return 0;
        });
        return command;
    }

    /// <summary><c>labeling dataset pause|resume|cancel|priority|limit NAME …</c>: job control per dataset.</summary>
    private static Command DatasetCommand(CliContext context)
    {
        var command = new Command("dataset", "Control the labelling of one dataset: pause, resume, cancel, priority, limit.");
        command.Subcommands.Add(DatasetAction(context, "pause", "Pause: batches in flight finish, its queued batches wait, the scan queues none of its images.",
            (control, name, _, ct) => control.PauseAsync(name, ct)));
        command.Subcommands.Add(DatasetAction(context, "resume", "Resume: active again, and its pending images are queued.",
            (control, name, _, ct) => control.ResumeAsync(name, ct)));
        command.Subcommands.Add(DatasetAction(context, "cancel", "Cancel: its queued images go back to pending (never failed), workers drop its queued batches, and it is paused.",
            (control, name, _, ct) => control.CancelAsync(name, ct)));
        command.Subcommands.Add(DatasetAction(context, "priority", "Set its priority (high, normal, low): its queued batches move to that priority's queue.",
            (control, name, value, ct) => DatasetControlText.TryParsePriority(value, out var priority)
                ? control.SetPriorityAsync(name, priority, ct)
                : throw new ArgumentException($"The priority is high, normal or low, not '{value}'."), valueName: "PRIORITY"));
        command.Subcommands.Add(DatasetAction(context, "limit", "At most N of its batches at once (N ≥ 1), or none: no cap.",
            (control, name, value, ct) => DatasetControlText.TryParseBatchCap(value, out var cap)
                ? control.SetBatchCapAsync(name, cap, ct)
                : throw new ArgumentException($"The limit is a positive number or none, not '{value}'."), valueName: "N|none"));
        return command;
    }

    private static Command DatasetAction(
        CliContext context, string name, string description, Func<DatasetControl, string, string?, CancellationToken, Task<DatasetControlResult?>> action, string? valueName = null)
    {
        var nameArgument = new Argument<string>("NAME") { Description = "The dataset (its inbox folder name)." };
        var valueArgument = valueName is null ? null : new Argument<string>(valueName) { Description = valueName };
        var command = new Command(name, description);
        command.Arguments.Add(nameArgument);
        if (valueArgument is not null)
        {
            command.Arguments.Add(valueArgument);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var dataset = parse.GetValue(nameArgument)!;
            var result = await action(services.GetRequiredService<DatasetControl>(), dataset, valueArgument is null ? null : parse.GetValue(valueArgument), cancellationToken)
                ?? throw new InvalidOperationException($"No dataset '{dataset}'. Nothing changed.");
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new
                {
                    dataset = result.Dataset.Name, state = result.Dataset.State.ToText(), priority = result.Dataset.Priority.ToText(),
                    result.Dataset.MaxConcurrentBatches, result.Dataset.Generation, result.Summary,
                });
                return 0;
            }

            await context.Output.WriteLineAsync(result.Summary);
            return 0;
        });
        return command;
    }

    private static object DatasetJson(DatasetActivity d) => new
    {
        dataset = d.Control.Name, state = d.Control.State.ToText(), priority = d.Control.Priority.ToText(), d.Control.MaxConcurrentBatches,
        d.Control.Generation, d.RunningBatches, d.Progress.Images, d.Progress.Pending, d.Progress.Queued, d.Progress.Labelled, d.Progress.Failed,
        d.ImagesPerSecond, etaSeconds = d.Eta?.TotalSeconds,
    };
}
