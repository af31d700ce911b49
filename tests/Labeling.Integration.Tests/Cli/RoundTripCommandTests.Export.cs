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
    public async Task Export_UnimplementedOrBadInput_FailsWithExitCode1()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        foreach (var args in new[]
        {
            new[] { "export", "--format", "yolo", "--out", Path.Combine(_folder.Path, "y") },
            ["export", "--format", "lvis", "--out", Path.Combine(_folder.Path, "l")],
            ["export", "--format", "coco", "--out", Path.Combine(_folder.Path, "c"), "--source", "robot"],
        })
        {
            var (code, output, error) = await RunAsync(args);
            Assert.True(code == 1, $"{string.Join(' ', args)} exited {code}: {output}{error}");
            Assert.StartsWith("error:", error, StringComparison.Ordinal);
        }

        Assert.Contains("not implemented yet", (await RunAsync("export", "--format", "yolo", "--out", Path.Combine(_folder.Path, "y"))).Err, StringComparison.Ordinal);
    }
}
