using System.Globalization;
using System.Text.Json;

namespace Labeling.Vocabulary;

/// <summary>
/// Readers for the class-name files that accompany embedding tables (the <c>clip-vocab</c> data:
/// COCO, LVIS v1, Objects365). Each returns the raw names in file order, which is the row order of
/// the matching <c>.npy</c>; <see cref="EmbeddingTable"/> normalises them.
/// </summary>
public static class NameLists
{
    /// <summary>One name per line (e.g. <c>coco_names.txt</c>); blank lines are skipped.</summary>
    public static IReadOnlyList<string> ReadLines(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return File.ReadLines(path).Where(line => !string.IsNullOrWhiteSpace(line)).Select(line => line.Trim()).ToList();
    }

    /// <summary>
    /// The <c>name</c> of each category in an LVIS category list (e.g. <c>lvis_v1_train_cat_info.json</c>,
    /// a JSON array of objects with <c>id</c>, <c>name</c> with '_' for spaces, <c>synonyms</c>, …),
    /// in file order; the categories must be sorted by <c>id</c>, as LVIS ships them.
    /// </summary>
    public static IReadOnlyList<string> ReadLvisCategoryNames(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"'{path}' is not a JSON array of LVIS categories.");
        }

        var names = new List<string>();
        long previousId = long.MinValue;
        foreach (var category in doc.RootElement.EnumerateArray())
        {
            if (category.ValueKind != JsonValueKind.Object
                || !category.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !category.TryGetProperty("id", out var id) || !id.TryGetInt64(out var idValue))
            {
                throw new InvalidDataException($"Category {names.Count} in '{path}' lacks a string 'name' or an integer 'id'.");
            }

            if (idValue <= previousId)
            {
                throw new InvalidDataException($"Categories in '{path}' are not sorted by id ({idValue} follows {previousId}); row order would be ambiguous.");
            }

            previousId = idValue;
            names.Add(name.GetString()!);
        }

        return names;
    }

    /// <summary>
    /// The names of an Objects365 list such as <c>Objects365_names_fix.csv</c>: no header, one
    /// category per line as <c>id,name,name</c> (the name twice; the second column is used), ids
    /// integers in file order.
    /// </summary>
    public static IReadOnlyList<string> ReadObjects365Names(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var names = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length != 3 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new InvalidDataException($"Line {lineNumber} of '{path}' is not 'id,name,name': {line}");
            }

            names.Add(fields[1]);
        }

        return names;
    }
}
