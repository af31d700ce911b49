using System.Text.Json;

namespace Labeling.Evaluation;

/// <summary>Mean AP over a base/novel split of the categories.</summary>
public sealed record BaseNovelSplit(double? BaseAP, double? NovelAP, int BaseCategories, int NovelCategories);

/// <summary>LVIS-style mean AP over rare, common and frequent categories.</summary>
public sealed record LvisFrequencySplit(double? APr, double? APc, double? APf);

/// <summary>
/// Splits of a per-category AP: base vs novel (novel = categories with no human boxes in the
/// training pool) and LVIS rare/common/frequent. Categories without ground truth (null AP) are left
/// out of every mean, as in the COCO mean; a split with no category with AP is null.
/// </summary>
public static class EvaluationSplits
{
    /// <summary>Base = <paramref name="baseClasses"/>, novel = every other category (names compared case-insensitively).</summary>
    public static BaseNovelSplit ByBaseClasses(IEnumerable<CategoryAveragePrecision> perCategory, IEnumerable<string> baseClasses)
    {
        var set = baseClasses.Select(Normalize).ToHashSet(StringComparer.Ordinal);
        return Split(perCategory, c => set.Contains(Normalize(c.Name)));
    }

    /// <summary>Novel = <paramref name="novelClasses"/>, base = every other category.</summary>
    public static BaseNovelSplit ByNovelClasses(IEnumerable<CategoryAveragePrecision> perCategory, IEnumerable<string> novelClasses)
    {
        var set = novelClasses.Select(Normalize).ToHashSet(StringComparer.Ordinal);
        return Split(perCategory, c => !set.Contains(Normalize(c.Name)));
    }

    /// <summary>APr/APc/APf from a frequency map (category name → 'r', 'c' or 'f'); categories not in the map are left out.</summary>
    public static LvisFrequencySplit ByLvisFrequency(IEnumerable<CategoryAveragePrecision> perCategory, IReadOnlyDictionary<string, char> frequencies)
    {
        ArgumentNullException.ThrowIfNull(frequencies);
        var normalized = frequencies.ToDictionary(p => Normalize(p.Key), p => p.Value, StringComparer.Ordinal);
        var list = perCategory.ToList();
        double? Mean(char f) => MeanOf(list.Where(c => normalized.TryGetValue(Normalize(c.Name), out var x) && x == f));
        return new LvisFrequencySplit(Mean('r'), Mean('c'), Mean('f'));
    }

    /// <summary>Reads an LVIS frequency file: a JSON list of <c>{name, frequency}</c> (LVIS <c>categories</c> or <c>lvis_v1_train_cat_info.json</c>), or an LVIS document with a <c>categories</c> list.</summary>
    public static IReadOnlyDictionary<string, char> LoadLvisFrequencies(string path)
    {
        using var document = CocoJson.ParseDocument(CocoJson.ReadFile(path, "LVIS frequency"), path);
        var root = document.RootElement;
        var list = root.ValueKind == JsonValueKind.Array ? root
            : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("categories", out var c) && c.ValueKind == JsonValueKind.Array ? c
            : throw new EvaluationInputException($"{path}: expected a list of categories with 'name' and 'frequency'.");
        var map = new Dictionary<string, char>(StringComparer.Ordinal);
        var i = 0;
        foreach (var entry in list.EnumerateArray())
        {
            var name = CocoJson.String(entry, "name", $"{path}: [{i}]");
            var frequency = CocoJson.String(entry, "frequency", $"{path}: [{i}]");
            if (frequency is not ("r" or "c" or "f"))
            {
                throw new EvaluationInputException($"{path}: [{i}] '{name}' has frequency '{frequency}'; expected r, c or f.");
            }

            map[name] = frequency[0];
            i++;
        }

        return map;
    }

    private static BaseNovelSplit Split(IEnumerable<CategoryAveragePrecision> perCategory, Func<CategoryAveragePrecision, bool> isBase)
    {
        var list = perCategory.ToList();
        var bases = list.Where(isBase).ToList();
        var novels = list.Where(c => !isBase(c)).ToList();
        return new BaseNovelSplit(MeanOf(bases), MeanOf(novels), bases.Count(c => c.AveragePrecision is not null), novels.Count(c => c.AveragePrecision is not null));
    }

    private static double? MeanOf(IEnumerable<CategoryAveragePrecision> categories)
    {
        var values = categories.Where(c => c.AveragePrecision is not null).Select(c => c.AveragePrecision!.Value).ToList();
        return values.Count == 0 ? null : values.Average();
    }

    // LVIS writes spaces as underscores ("traffic_light"); COCO writes "traffic light".
    private static string Normalize(string name) => name.Trim().Replace('_', ' ').ToLowerInvariant();
}
