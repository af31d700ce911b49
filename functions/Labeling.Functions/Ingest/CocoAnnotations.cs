using System.Text.Json;

namespace Labeling.Functions.Ingest;

/// <summary>An image entry of a COCO file; <see cref="Split"/> is the entry's own split, else the file's.</summary>
internal sealed record CocoImage(long Id, string FileName, int? Width, int? Height, string? Split);

/// <summary>A COCO annotation: box <c>[x, y, w, h]</c> in pixels.</summary>
internal sealed record CocoAnnotation(long ImageId, long CategoryId, float X, float Y, float Width, float Height, bool Crowd);

/// <summary>
/// The parts of a COCO <c>annotations.json</c> ingest uses: images, annotations, categories. Entries
/// that make no sense (missing fields, a box with no area, an unknown image or category id) are left
/// out and described in <see cref="Errors"/> by their place in the file (<c>annotations[3]</c>).
/// </summary>
internal sealed class CocoAnnotations
{
    public List<CocoImage> Images { get; } = [];

    public List<CocoAnnotation> Annotations { get; } = [];

    public Dictionary<long, string> Categories { get; } = [];

    public List<string> Errors { get; } = [];

    /// <summary>Parses a COCO file. Throws <see cref="JsonException"/> (with its line) for broken JSON and <see cref="FormatException"/> for a file that is not COCO at all.</summary>
    public static async Task<CocoAnnotations> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var document = await JsonDocument.ParseAsync(stream, default, cancellationToken);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("images", out var images) || images.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("not a COCO file: expected an object with an \"images\" array");
        }

        var result = new CocoAnnotations();
        string? fileSplit = null;
        if (root.TryGetProperty("split", out var split) && !result.TryReadSplit(split, "split", out fileSplit))
        {
            fileSplit = null;
        }

        var index = 0;
        foreach (var image in images.EnumerateArray())
        {
            result.ReadImage(image, $"images[{index++}]", fileSplit);
        }

        if (root.TryGetProperty("categories", out var categories) && categories.ValueKind == JsonValueKind.Array)
        {
            index = 0;
            foreach (var category in categories.EnumerateArray())
            {
                var where = $"categories[{index++}]";
                if (category.ValueKind != JsonValueKind.Object
                    || !TryGetLong(category, "id", out var id)
                    || !category.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    result.Errors.Add($"{where}: a category needs a numeric \"id\" and a string \"name\"");
                }
                else if (!result.Categories.TryAdd(id, name.GetString()!))
                {
                    result.Errors.Add($"{where}: category id {id} appears twice");
                }
            }
        }

        if (root.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Array)
        {
            var imageIds = result.Images.Select(i => i.Id).ToHashSet();
            index = 0;
            foreach (var annotation in annotations.EnumerateArray())
            {
                result.ReadAnnotation(annotation, $"annotations[{index++}]", imageIds);
            }
        }

        return result;
    }

    private void ReadImage(JsonElement image, string where, string? fileSplit)
    {
        if (image.ValueKind != JsonValueKind.Object
            || !TryGetLong(image, "id", out var id)
            || !image.TryGetProperty("file_name", out var fileName) || fileName.ValueKind != JsonValueKind.String
            || fileName.GetString()!.Trim().Length == 0)
        {
            Errors.Add($"{where}: an image needs a numeric \"id\" and a non-empty string \"file_name\"");
            return;
        }

        var imageSplit = fileSplit;
        if (image.TryGetProperty("split", out var split) && !TryReadSplit(split, where, out imageSplit))
        {
            imageSplit = fileSplit;
        }

        int? width = TryGetInt(image, "width", out var w) && w > 0 ? w : null;
        int? height = TryGetInt(image, "height", out var h) && h > 0 ? h : null;
        Images.Add(new CocoImage(id, fileName.GetString()!, width, height, imageSplit));
    }

    private void ReadAnnotation(JsonElement annotation, string where, HashSet<long> imageIds)
    {
        if (annotation.ValueKind != JsonValueKind.Object || !TryGetLong(annotation, "image_id", out var imageId) || !TryGetLong(annotation, "category_id", out var categoryId))
        {
            Errors.Add($"{where}: an annotation needs a numeric \"image_id\" and \"category_id\"");
            return;
        }

        if (!imageIds.Contains(imageId))
        {
            Errors.Add($"{where}: image_id {imageId} is not in \"images\"");
            return;
        }

        if (!Categories.ContainsKey(categoryId))
        {
            Errors.Add($"{where}: category_id {categoryId} is not in \"categories\"");
            return;
        }

        if (!annotation.TryGetProperty("bbox", out var bbox) || bbox.ValueKind != JsonValueKind.Array || bbox.GetArrayLength() != 4
            || bbox.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
        {
            Errors.Add($"{where}: \"bbox\" must be [x, y, width, height]");
            return;
        }

        var v = bbox.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        if (v.Any(x => !float.IsFinite(x)) || v[2] <= 0 || v[3] <= 0)
        {
            Errors.Add($"{where}: \"bbox\" [{string.Join(", ", v)}] needs finite numbers and a width and height above 0");
            return;
        }

        var crowd = TryGetInt(annotation, "iscrowd", out var c) && c != 0;
        Annotations.Add(new CocoAnnotation(imageId, categoryId, v[0], v[1], v[2], v[3], crowd));
    }

    private bool TryReadSplit(JsonElement element, string where, out string? split)
    {
        split = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        var text = element.ValueKind == JsonValueKind.String ? element.GetString()!.Trim().ToLowerInvariant() : null;
        if (text is "train" or "val")
        {
            split = text;
            return true;
        }

        Errors.Add($"{where}: \"split\" must be \"train\" or \"val\"");
        return false;
    }

    private static bool TryGetLong(JsonElement element, string property, out long value)
    {
        value = 0;
        return element.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt64(out value);
    }

    private static bool TryGetInt(JsonElement element, string property, out int value)
    {
        value = 0;
        return element.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out value);
    }
}
