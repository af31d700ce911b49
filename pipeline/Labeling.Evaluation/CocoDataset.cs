using System.Text.Json;

namespace Labeling.Evaluation;

/// <summary>An axis-aligned box in COCO's <c>[x, y, width, height]</c> form.</summary>
public readonly record struct CocoBox(double X, double Y, double Width, double Height);

/// <summary>A COCO category.</summary>
public sealed record CocoCategory(long Id, string Name);

/// <summary>
/// One ground-truth annotation or one detection. <see cref="Area"/> is the annotation's <c>area</c>
/// field for ground truth and <c>w*h</c> for detections (as <c>COCO.loadRes</c> sets it).
/// </summary>
public sealed record CocoAnnotation(long Id, long ImageId, long CategoryId, CocoBox Box, double Area, bool IsCrowd, double Score = double.NaN);

/// <summary>COCO ground truth: the image ids, the categories and the bbox annotations, in file order.</summary>
public sealed class CocoDataset
{
    /// <summary>Builds a dataset from parts (tests and callers that do not start from JSON).</summary>
    public CocoDataset(IEnumerable<long> imageIds, IEnumerable<CocoCategory> categories, IEnumerable<CocoAnnotation> annotations)
    {
        ImageIds = [.. imageIds];
        Categories = [.. categories];
        Annotations = [.. annotations];
        foreach (var a in Annotations)
        {
            CocoJson.CheckBox(a.Box, $"ground-truth annotation {a.Id}");
        }
    }

    /// <summary>The ids of the <c>images</c> entries.</summary>
    public IReadOnlyList<long> ImageIds { get; }

    /// <summary>The <c>categories</c> entries.</summary>
    public IReadOnlyList<CocoCategory> Categories { get; }

    /// <summary>The <c>annotations</c> entries, in file order.</summary>
    public IReadOnlyList<CocoAnnotation> Annotations { get; }

    /// <summary>Reads a COCO ground-truth file; throws <see cref="EvaluationInputException"/> naming what is wrong.</summary>
    public static CocoDataset Load(string path) => Parse(CocoJson.ReadFile(path, "ground truth"), path);

    /// <summary>Parses COCO ground-truth JSON; <paramref name="source"/> names it in error messages.</summary>
    public static CocoDataset Parse(string json, string source = "ground truth")
    {
        using var document = CocoJson.ParseDocument(json, source);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new EvaluationInputException($"{source}: expected a COCO document (a JSON object with images, annotations, categories), found {root.ValueKind}.");
        }

        var images = CocoJson.Array(root, "images", source)
            .Select((image, i) => CocoJson.Long(image, "id", $"{source}: images[{i}]"))
            .ToList();
        var categories = CocoJson.Array(root, "categories", source)
            .Select((c, i) => new CocoCategory(CocoJson.Long(c, "id", $"{source}: categories[{i}]"), CocoJson.String(c, "name", $"{source}: categories[{i}]")))
            .ToList();
        var annotations = CocoJson.Array(root, "annotations", source).Select((a, i) =>
        {
            var where = $"{source}: annotations[{i}]";
            var box = CocoJson.Bbox(a, where);
            var crowd = a.TryGetProperty("iscrowd", out var c) && c.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False or JsonValueKind.Null => false,
                JsonValueKind.Number => c.GetDouble() != 0,
                _ => throw new EvaluationInputException($"{where}: 'iscrowd' must be 0/1 or a boolean."),
            };
            return new CocoAnnotation(
                CocoJson.Long(a, "id", where),
                CocoJson.Long(a, "image_id", where),
                CocoJson.Long(a, "category_id", where),
                box,
                CocoJson.Double(a, "area", where, "pycocotools takes the area ranges from it"),
                crowd);
        }).ToList();
        return new CocoDataset(images, categories, annotations);
    }
}
