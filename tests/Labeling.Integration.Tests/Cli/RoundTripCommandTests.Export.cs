using System.Text.Json;

namespace Labeling.Integration.Tests.Cli;

/// <summary>export after the round trip (migrate, models add, ingest, work).</summary>
public sealed partial class RoundTripCommandTests
{
    [Fact]
    public async Task ExportCoco_WritesEveryStoredBoxAsAnAnnotationOfAKnownImageAndCategory()
    {
        await LabelledAsync();
        var stored = (await RunJsonAsync("query", "--dataset", "pets", "--limit", "100000")).EnumerateArray().ToDictionary(b => b.GetProperty("boxId").GetInt64());
        Assert.NotEmpty(stored);
        var folder = Path.Combine(_folder.Path, "coco");

        var (code, output, error) = await RunAsync("export", "--format", "coco", "--out", folder, "--dataset", "pets", "--json");

        Assert.True(code == 0, error + output);
        Assert.Contains("empty.jpg", error, StringComparison.Ordinal); // undecodable, no size: left out with a warning
        using var coco = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "annotations.json"), Ct));
        var images = coco.RootElement.GetProperty("images").EnumerateArray().ToList();
        var annotations = coco.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        var categories = coco.RootElement.GetProperty("categories").EnumerateArray().ToList();

        Assert.Equal(4, images.Count);
        Assert.All(images, i =>
        {
            Assert.StartsWith("inbox/pets/", i.GetProperty("file_name").GetString(), StringComparison.Ordinal);
            Assert.True(i.GetProperty("width").GetInt32() > 0 && i.GetProperty("height").GetInt32() > 0);
        });
        var imageIds = images.Select(i => i.GetProperty("id").GetInt64()).ToHashSet();
        var categoryNames = categories.ToDictionary(c => c.GetProperty("id").GetInt32(), c => c.GetProperty("name").GetString());
        Assert.Equal(images.Count, imageIds.Count);
        Assert.Equal(categories.Count, categoryNames.Values.Distinct().Count());
        Assert.Equal(stored.Count, annotations.Count);
        Assert.Equal(annotations.Count, annotations.Select(a => a.GetProperty("id").GetInt64()).Distinct().Count());
        foreach (var a in annotations)
        {
            var box = stored[a.GetProperty("id").GetInt64()];
            Assert.Contains(a.GetProperty("image_id").GetInt64(), imageIds);
            Assert.Equal(box.GetProperty("imageId").GetInt64(), a.GetProperty("image_id").GetInt64());
            Assert.Equal(box.GetProperty("className").GetString(), categoryNames[a.GetProperty("category_id").GetInt32()]);
            float x1 = box.GetProperty("x1").GetSingle(), y1 = box.GetProperty("y1").GetSingle(), x2 = box.GetProperty("x2").GetSingle(), y2 = box.GetProperty("y2").GetSingle();
            var bbox = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal([x1, y1, x2 - x1, y2 - y1], bbox);
            Assert.Equal((x2 - x1) * (y2 - y1), a.GetProperty("area").GetSingle(), 3);
            Assert.Equal(0, a.GetProperty("iscrowd").GetInt32());
            Assert.Equal(box.GetProperty("score").GetSingle(), a.GetProperty("score").GetSingle());
        }

        // No box passes the filter: the images are still exported, with no annotations.
        var none = await RunJsonAsync("export", "--format", "coco", "--out", folder, "--source", "human");
        Assert.Equal(4, none.GetProperty("images").GetInt64());
        Assert.Equal(0, none.GetProperty("annotations").GetInt64());
        using var empty = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "annotations.json"), Ct));
        Assert.Equal(4, empty.RootElement.GetProperty("images").GetArrayLength());
        Assert.Equal(0, empty.RootElement.GetProperty("annotations").GetArrayLength());
    }

    [Fact]
    public async Task ExportYolo_WritesOneNormalisedLabelFilePerImageAndTheClasses()
    {
        await LabelledAsync();
        var stored = (await RunJsonAsync("query", "--limit", "100000")).EnumerateArray().ToList();
        var coco = Path.Combine(_folder.Path, "coco");
        await RunJsonAsync("export", "--format", "coco", "--out", coco);
        using var cocoJson = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(coco, "annotations.json"), Ct));
        var sizes = cocoJson.RootElement.GetProperty("images").EnumerateArray()
            .ToDictionary(i => i.GetProperty("file_name").GetString()!, i => (W: i.GetProperty("width").GetSingle(), H: i.GetProperty("height").GetSingle()));
        var yolo = Path.Combine(_folder.Path, "yolo");

        var result = await RunJsonAsync("export", "--format", "yolo", "--out", yolo);

        Assert.Equal(4, result.GetProperty("images").GetInt64());
        Assert.Equal(stored.Count, result.GetProperty("annotations").GetInt64());
        var classes = await File.ReadAllLinesAsync(Path.Combine(yolo, "classes.txt"), Ct);
        Assert.Equal(stored.Select(b => b.GetProperty("className").GetString()).Distinct().Order(), classes.Order());
        foreach (var (path, (w, h)) in sizes)
        {
            var file = Path.Combine(yolo, "labels", Path.ChangeExtension(path, ".txt"));
            var lines = (await File.ReadAllLinesAsync(file, Ct)).Select(l => l.Split(' ')).ToList();
            var boxes = stored.Where(b => b.GetProperty("imagePath").GetString() == path).ToList();
            Assert.Equal(boxes.Count, lines.Count);
            for (var n = 0; n < boxes.Count; n++) // both in box id order
            {
                var b = boxes[n];
                float x1 = b.GetProperty("x1").GetSingle(), y1 = b.GetProperty("y1").GetSingle(), x2 = b.GetProperty("x2").GetSingle(), y2 = b.GetProperty("y2").GetSingle();
                Assert.Equal(b.GetProperty("className").GetString(), classes[int.Parse(lines[n][0], System.Globalization.CultureInfo.InvariantCulture)]);
                var values = lines[n][1..].Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                float[] expected = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h];
                for (var k = 0; k < 4; k++)
                {
                    Assert.Equal(expected[k], values[k], 0.0001f);
                    Assert.InRange(values[k], 0f, 1f);
                }
            }
        }
    }

    [Fact]
    public async Task ExportLvis_WritesEveryStoredBoxAndMarksTheTagsNotExhaustive()
    {
        await LabelledAsync();
        var stored = (await RunJsonAsync("query", "--dataset", "pets", "--limit", "100000")).EnumerateArray().ToDictionary(b => b.GetProperty("boxId").GetInt64());
        var folder = Path.Combine(_folder.Path, "lvis");

        var (code, output, error) = await RunAsync("export", "--format", "lvis", "--out", folder, "--dataset", "pets", "--json");

        Assert.True(code == 0, error + output);
        Assert.Contains("empty.jpg", error, StringComparison.Ordinal); // undecodable, no size: left out with a warning
        using var lvis = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "annotations.json"), Ct));
        var images = lvis.RootElement.GetProperty("images").EnumerateArray().ToList();
        var annotations = lvis.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        var categories = lvis.RootElement.GetProperty("categories").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetInt64());

        Assert.Equal(4, images.Count);
        Assert.Equal(4, images.Select(i => i.GetProperty("id").GetInt64()).Distinct().Count());
        foreach (var image in images)
        {
            // Tagged by its folder, no human boxes: the tag and the classes of the model's boxes are not
            // exhaustive, and nothing is known to be absent.
            var id = image.GetProperty("id").GetInt64();
            var present = stored.Values.Where(b => b.GetProperty("imageId").GetInt64() == id).Select(b => b.GetProperty("className").GetString()!)
                .Append(image.GetProperty("file_name").GetString()!.Split('/')[^2]);
            Assert.Empty(image.GetProperty("neg_category_ids").EnumerateArray());
            Assert.Equal(
                present.Distinct().Order(StringComparer.Ordinal),
                image.GetProperty("not_exhaustive_category_ids").EnumerateArray().Select(c => categories[c.GetInt64()].GetProperty("name").GetString()!).Order(StringComparer.Ordinal));
        }

        Assert.Equal(stored.Count, annotations.Count);
        using (var summary = JsonDocument.Parse(output))
        {
            Assert.Equal(stored.Count, summary.RootElement.GetProperty("annotations").GetInt64());
        }

        foreach (var a in annotations)
        {
            var box = stored[a.GetProperty("id").GetInt64()];
            Assert.Equal(box.GetProperty("imageId").GetInt64(), a.GetProperty("image_id").GetInt64());
            Assert.Equal(box.GetProperty("className").GetString(), categories[a.GetProperty("category_id").GetInt64()].GetProperty("name").GetString());
            float x1 = box.GetProperty("x1").GetSingle(), y1 = box.GetProperty("y1").GetSingle(), x2 = box.GetProperty("x2").GetSingle(), y2 = box.GetProperty("y2").GetSingle();
            Assert.Equal([x1, y1, x2 - x1, y2 - y1], a.GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()).ToArray());
            Assert.Equal((x2 - x1) * (y2 - y1), a.GetProperty("area").GetSingle(), 3);
        }

        Assert.All(categories.Values, c =>
        {
            var name = c.GetProperty("name").GetString();
            var boxes = stored.Values.Where(b => b.GetProperty("className").GetString() == name).ToList();
            Assert.Equal(boxes.Count, c.GetProperty("instance_count").GetInt64());
            Assert.Equal(boxes.Select(b => b.GetProperty("imageId").GetInt64()).Distinct().Count(), c.GetProperty("image_count").GetInt64());
            Assert.Equal("r", c.GetProperty("frequency").GetString());
        });
    }

    [Fact]
    public async Task Export_BadInput_FailsWithExitCode1()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        var file = Path.Combine(_folder.Path, "not-a-folder");
        await File.WriteAllTextAsync(file, "a file", Ct);
        foreach (var args in new[]
        {
            new[] { "export", "--format", "lvis", "--out", file },
            ["export", "--format", "coco", "--out", file],
            ["export", "--format", "yolo", "--out", file],
            ["export", "--format", "lvis", "--out", Path.Combine(_folder.Path, "l"), "--source", "robot"],
            ["export", "--format", "yolo", "--out", Path.Combine(_folder.Path, "y"), "--source", "robot"],
            ["export", "--format", "coco", "--out", Path.Combine(_folder.Path, "c"), "--source", "robot"],
        })
        {
            var (code, output, error) = await RunAsync(args);
            Assert.True(code == 1, $"{string.Join(' ', args)} exited {code}: {output}{error}");
            Assert.StartsWith("error:", error, StringComparison.Ordinal);
        }

        Assert.Contains("is a file", (await RunAsync("export", "--format", "lvis", "--out", file)).Err, StringComparison.Ordinal);
        Assert.Equal("a file", await File.ReadAllTextAsync(file, Ct));
    }
}
