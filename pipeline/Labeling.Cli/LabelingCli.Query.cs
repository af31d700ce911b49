using System.CommandLine;
using System.Globalization;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private const int QueryPageSize = 1000;

    private static Command QueryCommand(CliContext context)
    {
        var classOption = new Option<string?>("--class") { Description = "Only boxes of this class (a tag name)." };
        var minScoreOption = new Option<float?>("--min-score") { Description = "Only boxes scored at least this." };
        var sourceOption = new Option<string?>("--source") { Description = "Only boxes of this source: human, pseudo, weak or discovered." };
        var modelOption = new Option<string?>("--model") { Description = "Only boxes made by this model version." };
        var datasetOption = new Option<string?>("--dataset") { Description = "Only boxes of this dataset." };
        var limitOption = new Option<int>("--limit") { Description = "At most this many boxes.", DefaultValueFactory = _ => 1000 };
        var formatOption = new Option<string>("--format") { Description = "table, csv or json (--json is json).", DefaultValueFactory = _ => "table" };
        formatOption.AcceptOnlyFromAmong("table", "csv", "json");
        var command = new Command("query", "List boxes by class, score, source, model and dataset.");
        foreach (var option in new Option[] { classOption, minScoreOption, sourceOption, modelOption, datasetOption, limitOption, formatOption })
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var limit = parse.GetValue(limitOption);
            if (limit < 1)
            {
                throw new CliException($"--limit must be at least 1, not {limit}.");
            }

            var source = ParseSource(parse.GetValue(sourceOption));

            var format = parse.GetValue(context.JsonOption) ? "json" : parse.GetValue(formatOption)!;
            var store = services.GetRequiredService<ILabelStore>();
            var query = new BoxQuery
            {
                ClassName = await ClassNames.RequireKnownAsync(store, parse.GetValue(classOption), cancellationToken),
                MinScore = parse.GetValue(minScoreOption),
                Source = source,
                ModelVersion = parse.GetValue(modelOption),
                Dataset = parse.GetValue(datasetOption),
            };
            var boxes = new List<BoxRow>();
            long after = 0;
            while (boxes.Count < limit)
            {
                var page = await store.QueryBoxesAsync(query with { AfterId = after, Limit = Math.Min(QueryPageSize, limit - boxes.Count) }, cancellationToken);
                boxes.AddRange(page.Boxes);
                if (page.NextAfterId is not { } next)
                {
                    break;
                }

                after = next;
            }

            switch (format)
            {
                case "json":
                    await WriteJsonAsync(context.Output, boxes.Select(b => new
                    {
                        b.BoxId, b.ImageId, b.Dataset, b.ImagePath, className = b.ClassName, b.X1, b.Y1, b.X2, b.Y2, b.Score,
                        source = b.Source.ToString().ToLowerInvariant(), b.ModelVersion,
                    }));
                    break;
                case "csv":
                    await context.Output.WriteLineAsync("box_id,image_id,dataset,image_path,class,x1,y1,x2,y2,score,source,model_version");
                    foreach (var b in boxes)
                    {
                        await context.Output.WriteLineAsync(string.Join(",",
                            Num(b.BoxId), Num(b.ImageId), Csv(b.Dataset), Csv(b.ImagePath), Csv(b.ClassName),
                            Num(b.X1), Num(b.Y1), Num(b.X2), Num(b.Y2), b.Score is { } s ? Num(s) : "",
                            b.Source.ToString().ToLowerInvariant(), Csv(b.ModelVersion ?? "")));
                    }

                    break;
                default:
                    var table = new Table().AddColumns("Box", "Dataset", "Image", "Class", "x1", "y1", "x2", "y2", "Score", "Source", "Model");
                    foreach (var b in boxes)
                    {
                        table.AddRow(Num(b.BoxId), Markup.Escape(b.Dataset), Markup.Escape(b.ImagePath), Markup.Escape(b.ClassName),
                            b.X1.ToString("0.#", CultureInfo.InvariantCulture), b.Y1.ToString("0.#", CultureInfo.InvariantCulture),
                            b.X2.ToString("0.#", CultureInfo.InvariantCulture), b.Y2.ToString("0.#", CultureInfo.InvariantCulture),
                            b.Score?.ToString("0.000", CultureInfo.InvariantCulture) ?? "-", b.Source.ToString().ToLowerInvariant(), Markup.Escape(b.ModelVersion ?? "-"));
                    }

                    var console = context.Console();
                    console.Write(table);
                    console.WriteLine($"{boxes.Count} box(es).");
                    break;
            }

            return 0;
        });
        return command;
    }

    private static BoxSource? ParseSource(string? text) =>
        text is null ? null
        : Enum.TryParse<BoxSource>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && text.Trim().Length > 0 && !char.IsAsciiDigit(text.TrimStart()[0])
            ? parsed
            : throw new CliException($"Unknown source '{text}': use human, pseudo, weak or discovered.");

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Csv(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
