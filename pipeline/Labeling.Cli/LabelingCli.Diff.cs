using System.CommandLine;
using Labeling.Bootstrap;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command DiffCommand(CliContext context)
    {
        var fromOption = new Option<string>("--from") { Description = "The older model version.", Required = true };
        var toOption = new Option<string>("--to") { Description = "The newer model version.", Required = true };
        var datasetOption = new Option<string?>("--dataset") { Description = "Only this dataset." };
        var command = new Command("diff", "Per class, the boxes the newer model added, removed and moved relative to the older one, and the tags that went from weak to grounded (over the images both labelled).");
        command.Options.Add(fromOption);
        command.Options.Add(toOption);
        command.Options.Add(datasetOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var diff = await ModelDiff.CompareAsync(services.GetRequiredService<ILabelStore>(),
                parse.GetRequiredValue(fromOption), parse.GetRequiredValue(toOption), parse.GetValue(datasetOption), cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { diff.From, diff.To, diff.ImagesCompared, diff.ImagesOnlyFrom, diff.ImagesOnlyTo, classes = diff.Classes, total = diff.Total });
                return 0;
            }

            await context.Output.WriteLineAsync($"{diff.From} → {diff.To}: {diff.ImagesCompared} image(s) with boxes of both ({diff.ImagesOnlyFrom} only of {diff.From}, {diff.ImagesOnlyTo} only of {diff.To}).");
            var table = new Table().AddColumns("Class", "Added", "Removed", "Changed", "Unchanged", "Weak → grounded", "Grounded → weak");
            foreach (var c in diff.Classes.Append(diff.Total))
            {
                table.AddRow(Markup.Escape(c.ClassName), $"{c.Added}", $"{c.Removed}", $"{c.Changed}", $"{c.Unchanged}", $"{c.Grounded}", $"{c.Weakened}");
            }

            context.Console().Write(table);
            return 0;
        });
        return command;
    }
}
