using System.CommandLine;
using System.Globalization;
using Labeling.Evaluation;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command EvalCommand(CliContext context)
    {
        var gtOption = new Option<FileInfo>("--gt") { Description = "COCO ground truth (images, categories, annotations with area).", Required = true };
        var detsOption = new Option<FileInfo>("--dets") { Description = "Detections: a COCO results list, or a COCO document whose annotations carry a score.", Required = true };
        var baseOption = new Option<string?>("--base-classes") { Description = "Comma-separated base category names; every other category is novel (prints AP_base and AP_novel)." };
        var novelOption = new Option<string?>("--novel-classes") { Description = "Comma-separated novel category names (no human boxes in the training pool); every other category is base." };
        var lvisOption = new Option<FileInfo?>("--lvis-frequencies") { Description = "An LVIS category list with frequency r/c/f (e.g. lvis_v1_train_cat_info.json): prints APr, APc, APf." };
        var command = new Command("eval", "COCO bbox evaluation equal to pycocotools: the twelve AP/AR stats and per-category AP, with optional base/novel and LVIS rare/common/frequent splits.");
        command.Options.Add(gtOption);
        command.Options.Add(detsOption);
        command.Options.Add(baseOption);
        command.Options.Add(novelOption);
        command.Options.Add(lvisOption);

        // No settings or database: evaluation reads two files and prints.
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var baseClasses = SplitNames(parse.GetValue(baseOption));
                var novelClasses = SplitNames(parse.GetValue(novelOption));
                if (baseClasses is not null && novelClasses is not null)
                {
                    throw new CliException("give --base-classes or --novel-classes, not both.");
                }

                var gt = CocoDataset.Load(parse.GetValue(gtOption)!.FullName);
                var dets = CocoResults.Load(parse.GetValue(detsOption)!.FullName, gt);
                var result = await Task.Run(() => CocoEvaluator.Evaluate(gt, dets), cancellationToken);
                var split = baseClasses is not null ? EvaluationSplits.ByBaseClasses(result.PerCategory, baseClasses)
                    : novelClasses is not null ? EvaluationSplits.ByNovelClasses(result.PerCategory, novelClasses)
                    : null;
                var lvis = parse.GetValue(lvisOption) is { } file
                    ? EvaluationSplits.ByLvisFrequency(result.PerCategory, EvaluationSplits.LoadLvisFrequencies(file.FullName))
                    : null;

                if (parse.GetValue(context.JsonOption))
                {
                    // A dictionary keeps the keys exactly as written (the CLI's camelCase policy applies to properties only).
                    var json = new Dictionary<string, object?>();
                    for (var i = 0; i < result.Stats.Count; i++)
                    {
                        json[CocoEvaluator.StatNames[i]] = result.Stats[i];
                    }

                    json["per_category"] = PerCategoryByName(result.PerCategory);
                    if (split is not null)
                    {
                        json["AP_base"] = split.BaseAP;
                        json["AP_novel"] = split.NovelAP;
                    }

                    if (lvis is not null)
                    {
                        json["APr"] = lvis.APr;
                        json["APc"] = lvis.APc;
                        json["APf"] = lvis.APf;
                    }

                    await WriteJsonAsync(context.Output, json);
                    return 0;
                }

                var output = context.Output;
                foreach (var line in result.SummaryLines())
                {
                    await output.WriteLineAsync(line);
                }

                await output.WriteLineAsync();
                await output.WriteLineAsync("Per-category AP @[ IoU=0.50:0.95 | area=all | maxDets=100 ]:");
                var width = result.PerCategory.Select(c => c.Name.Length).DefaultIfEmpty(0).Max();
                foreach (var c in result.PerCategory)
                {
                    await output.WriteLineAsync($"  {c.Name.PadRight(width)}  {(c.AveragePrecision is { } ap ? Format(ap) : "(no ground truth)")}");
                }

                if (split is not null)
                {
                    await output.WriteLineAsync($"AP base ({split.BaseCategories} categories) = {Format(split.BaseAP)}, AP novel ({split.NovelCategories} categories) = {Format(split.NovelAP)}");
                }

                if (lvis is not null)
                {
                    await output.WriteLineAsync($"APr = {Format(lvis.APr)}, APc = {Format(lvis.APc)}, APf = {Format(lvis.APf)}");
                }

                return 0;
            }
            catch (Exception e) when (e is EvaluationInputException or CliException or IOException or UnauthorizedAccessException)
            {
                await context.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static List<string>? SplitNames(string? value) =>
        value is null ? null : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static Dictionary<string, double> PerCategoryByName(IReadOnlyList<CategoryAveragePrecision> perCategory)
    {
        // Categories without ground truth have no AP and are left out; a repeated name gets its id.
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in perCategory)
        {
            if (c.AveragePrecision is { } ap)
            {
                map[map.ContainsKey(c.Name) ? $"{c.Name}#{c.CategoryId}" : c.Name] = ap;
            }
        }

        return map;
    }

    private static string Format(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
}
