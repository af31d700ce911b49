using System.Text.Json.Nodes;
using Labeling.Trainer.Data;

namespace Labeling.Trainer.Tests.Data;

public sealed class CocoSourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Coco_BoxesTagsSplitsAndCrowd_AsTheIngestDocsSay()
    {
        using var temp = new TempFolder();
        var truth = new ShapesWorld(new ShapesWorldOptions { Seed = 6, Width = 64, Height = 64, MinSize = 12, MaxSize = 30 })
            .WriteFolder(temp.Path, 8, new ShapesFolderOptions { BoxedCount = 6, GoldCount = 2 });
        // Make image 3's annotations crowd regions only (a tag, no box), and add an unlisted-file image.
        var file = Path.Combine(temp.Path, "annotations.json");
        var json = JsonNode.Parse(File.ReadAllText(file))!;
        foreach (var a in json["annotations"]!.AsArray().Where(a => (int)a!["image_id"]! == 4))
        {
            a!["iscrowd"] = 1;
        }

        json["images"]!.AsArray().Add(new JsonObject { ["id"] = 99, ["file_name"] = "missing.png", ["width"] = 64, ["height"] = 64 });
        json["annotations"]!.AsArray().Add(new JsonObject { ["id"] = 999, ["image_id"] = 99, ["category_id"] = 1, ["bbox"] = new JsonArray(1, 1, 5, 5), ["iscrowd"] = 0 });
        File.WriteAllText(file, json.ToJsonString());

        var source = new CocoSource(file, temp.Path);
        Assert.Equal(ShapesWorld.DefaultShapes.Order(StringComparer.Ordinal), source.ClassNames);
        var counts = await source.CountAsync(Ct);
        Assert.Equal((4L, 1L, 2L), (counts.BoxImages, counts.TagOnlyImages, counts.GoldImages));

        var samples = new List<TrainingSample>();
        await foreach (var s in source.ReadAsync(Ct))
        {
            samples.Add(s);
        }

        Assert.Equal(["00002.png", "00003.png", "00004.png", "00005.png"], samples.Select(s => s.Id));
        Assert.Equal(1, source.Unreadable);
        var two = samples[0];
        Assert.Equal(SampleKind.BoxData, two.Kind);
        Assert.Equal(truth.Images[2].Objects.Select(o => o.ClassName), two.Boxes.Select(b => b.ClassName));
        Assert.Equal(truth.Images[2].Objects[0].Box[2], two.Boxes[0].X2, 3);
        Assert.Equal(truth.Images[2].Objects[0].Box[3], two.Boxes[0].Y2, 3);
        var crowd = samples[1];
        Assert.Equal((SampleKind.TagOnly, 0), (crowd.Kind, crowd.Boxes.Count));
        Assert.Equal(truth.Images[3].Objects.Select(o => o.ClassName).Distinct().Order(StringComparer.Ordinal), crowd.Tags);

        var withGold = await new CocoSource(file, temp.Path, new CocoSourceOptions { IncludeGold = true }).CountAsync(Ct);
        Assert.Equal((6L, 0L), (withGold.BoxImages, withGold.GoldImages));
    }
}
