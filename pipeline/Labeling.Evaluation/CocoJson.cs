using System.Text.Json;

namespace Labeling.Evaluation;

/// <summary>Strict readers for the COCO fields the evaluator needs, each failure naming the file, the entry and the field.</summary>
internal static class CocoJson
{
    public static string ReadFile(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw new EvaluationInputException($"{what} file not found: {path}");
        }

        return File.ReadAllText(path);
    }

    public static JsonDocument ParseDocument(string json, string source)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new EvaluationInputException($"{source}: not valid JSON ({e.Message})", e);
        }
    }

    public static IEnumerable<JsonElement> Array(JsonElement root, string name, string source)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new EvaluationInputException($"{source}: missing the '{name}' list.");
        }

        return array.EnumerateArray();
    }

    public static long Long(JsonElement e, string name, string where)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v))
        {
            throw new EvaluationInputException($"{where}: missing '{name}'.");
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var value))
        {
            throw new EvaluationInputException($"{where}: '{name}' must be an integer, found {v.GetRawText()}.");
        }

        return value;
    }

    public static double Double(JsonElement e, string name, string where, string why)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v))
        {
            throw new EvaluationInputException($"{where}: missing '{name}' ({why}).");
        }

        if (v.ValueKind != JsonValueKind.Number)
        {
            throw new EvaluationInputException($"{where}: '{name}' must be a number, found {v.GetRawText()}.");
        }

        return v.GetDouble();
    }

    public static string String(JsonElement e, string name, string where)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
        {
            throw new EvaluationInputException($"{where}: missing the string '{name}'.");
        }

        return v.GetString()!;
    }

    public static CocoBox Bbox(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("bbox", out var b))
        {
            throw new EvaluationInputException($"{where}: missing 'bbox'.");
        }

        if (b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 4 || b.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
        {
            throw new EvaluationInputException($"{where}: 'bbox' must be four numbers [x, y, width, height], found {b.GetRawText()}.");
        }

        var box = new CocoBox(b[0].GetDouble(), b[1].GetDouble(), b[2].GetDouble(), b[3].GetDouble());
        CheckBox(box, where);
        return box;
    }

    public static void CheckBox(CocoBox box, string where)
    {
        if (!double.IsFinite(box.X) || !double.IsFinite(box.Y) || !double.IsFinite(box.Width) || !double.IsFinite(box.Height))
        {
            throw new EvaluationInputException($"{where}: 'bbox' has a non-finite value {box}.");
        }

        if (box.Width < 0 || box.Height < 0)
        {
            throw new EvaluationInputException($"{where}: 'bbox' has a negative width or height ({box.Width} x {box.Height}); COCO boxes are [x, y, width, height].");
        }
    }
}
