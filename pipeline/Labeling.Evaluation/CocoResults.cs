using System.Text.Json;

namespace Labeling.Evaluation;

/// <summary>Detections in COCO's results form, loaded as pycocotools' <c>COCO.loadRes</c> loads them.</summary>
public static class CocoResults
{
    /// <summary>Reads a results file: a JSON list of <c>{image_id, category_id, bbox, score}</c>, or a COCO document whose annotations carry a score.</summary>
    public static IReadOnlyList<CocoAnnotation> Load(string path, CocoDataset groundTruth) => Parse(CocoJson.ReadFile(path, "detections"), groundTruth, path);

    /// <summary>
    /// Parses results with <c>loadRes</c> semantics: ids 1..N in list order, <c>iscrowd</c> 0,
    /// <c>area = w*h</c> (a given area is ignored); every image id must be one of the ground truth's.
    /// </summary>
    public static IReadOnlyList<CocoAnnotation> Parse(string json, CocoDataset groundTruth, string source = "detections")
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        using var document = CocoJson.ParseDocument(json, source);
        var root = document.RootElement;
        var list = root.ValueKind switch
        {
            JsonValueKind.Array => root,
            JsonValueKind.Object when root.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Array => a,
            _ => throw new EvaluationInputException($"{source}: expected a COCO results list or a COCO document with an 'annotations' list."),
        };
        var detections = new List<CocoAnnotation>();
        var i = 0;
        foreach (var d in list.EnumerateArray())
        {
            var where = $"{source}: detection [{i}]";
            var box = CocoJson.Bbox(d, where);
            var score = CocoJson.Double(d, "score", where, "every detection needs a confidence");
            detections.Add(new CocoAnnotation(i + 1, CocoJson.Long(d, "image_id", where), CocoJson.Long(d, "category_id", where), box, box.Width * box.Height, false, score));
            i++;
        }

        return FromDetections(detections, groundTruth, source);
    }

    /// <summary>Checks detections built in code: finite scores, valid boxes, image ids known to the ground truth.</summary>
    public static IReadOnlyList<CocoAnnotation> FromDetections(IReadOnlyList<CocoAnnotation> detections, CocoDataset groundTruth, string source = "detections")
    {
        ArgumentNullException.ThrowIfNull(detections);
        ArgumentNullException.ThrowIfNull(groundTruth);
        var images = groundTruth.ImageIds.ToHashSet();
        var unknown = new SortedSet<long>();
        foreach (var d in detections)
        {
            CocoJson.CheckBox(d.Box, $"{source}: detection {d.Id}");
            if (!double.IsFinite(d.Score))
            {
                throw new EvaluationInputException($"{source}: detection {d.Id} has no finite score ({d.Score}).");
            }

            if (!images.Contains(d.ImageId))
            {
                unknown.Add(d.ImageId);
            }
        }

        if (unknown.Count > 0)
        {
            // pycocotools' loadRes asserts the same: "Results do not correspond to current coco set".
            throw new EvaluationInputException(
                $"{source}: {unknown.Count} image id(s) are not in the ground truth's images: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", …" : "")}. Results must be for the ground truth's images.");
        }

        return detections;
    }
}
