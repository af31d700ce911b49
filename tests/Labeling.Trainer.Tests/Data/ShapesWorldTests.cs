using System.Text;
using System.Text.Json;
using Labeling.Imaging;
using Labeling.Trainer.Data;

namespace Labeling.Trainer.Tests.Data;

public sealed class ShapesWorldTests
{
    [Fact]
    public void Generate_SameSeedAndIndex_SameBytes_OtherSeedDiffers()
    {
        var a = new ShapesWorld(new ShapesWorldOptions { Seed = 7 });
        var b = new ShapesWorld(new ShapesWorldOptions { Seed = 7 });
        var c = new ShapesWorld(new ShapesWorldOptions { Seed = 8 });
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(a.Generate(i).Png, b.Generate(i).Png);
            Assert.Equal(a.Generate(i).Objects, b.Generate(i).Objects);
            Assert.NotEqual(a.Generate(i).Png, c.Generate(i).Png);
        }

        Assert.NotEqual(a.Generate(0).Png, a.Generate(1).Png);
    }

    [Fact]
    public void Generate_ShapesCountSizeAndOverlapWithinLimits()
    {
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 3 });
        for (int i = 0; i < 40; i++)
        {
            var sample = world.Generate(i);
            Assert.InRange(sample.Objects.Count, 1, 4);
            foreach (var o in sample.Objects)
            {
                Assert.Contains(o.ClassName, ShapesWorld.DefaultShapes);
                Assert.InRange(o.X1, 0f, 256f);
                Assert.InRange(o.X2, o.X1 + 10, 256f);
                Assert.InRange(o.Y1, 0f, 256f);
                Assert.InRange(o.Y2, o.Y1 + 10, 256f);
                Assert.InRange(Math.Max(o.X2 - o.X1, o.Y2 - o.Y1), 24f - 0.01f, 96f + 0.01f);
            }

            for (int p = 0; p < sample.Objects.Count; p++)
            {
                for (int q = p + 1; q < sample.Objects.Count; q++)
                {
                    Assert.True(IoU(sample.Objects[p], sample.Objects[q]) < 0.3f, $"image {i}: objects {p} and {q} overlap");
                }
            }
        }
    }

    [Fact]
    public void Generate_BoxesAreTight_ShapeColourInsideAndTouchingEveryEdge()
    {
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 11 });
        int edgesChecked = 0;
        for (int i = 0; i < 20; i++)
        {
            var sample = world.Generate(i);
            var image = ImageDecoder.Decode(sample.Png, new ImageDecodeOptions()).Image!;
            var px = image.Pixels.Span;
            foreach (var o in sample.Objects)
            {
                // Pixels of (almost exactly) the shape's colour: all inside the box (1 px of antialiasing slack).
                int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
                for (int y = 0; y < image.Height; y++)
                {
                    for (int x = 0; x < image.Width; x++)
                    {
                        int k = ((y * image.Width) + x) * 3;
                        if (Math.Abs(px[k] - o.R) + Math.Abs(px[k + 1] - o.G) + Math.Abs(px[k + 2] - o.B) <= 6)
                        {
                            (minX, minY, maxX, maxY) = (Math.Min(minX, x), Math.Min(minY, y), Math.Max(maxX, x), Math.Max(maxY, y));
                        }
                    }
                }

                Assert.True(maxX >= 0, $"image {i}: no pixel of {o.ClassName}'s colour");
                Assert.True(minX >= o.X1 - 1 && maxX + 1 <= o.X2 + 1 && minY >= o.Y1 - 1 && maxY + 1 <= o.Y2 + 1, $"image {i}: {o} colour outside its box ({minX},{minY})-({maxX},{maxY})");
                // Tight: where no other box overlaps this one, the full colour reaches within 3 px of every edge (star tips are antialiased).
                if (!sample.Objects.Any(other => other != o && IoU(o, other) > 0))
                {
                    Assert.True(minX <= o.X1 + 3 && maxX + 1 >= o.X2 - 3 && minY <= o.Y1 + 3 && maxY + 1 >= o.Y2 - 3, $"image {i}: {o} box not tight ({minX},{minY})-({maxX},{maxY})");
                    edgesChecked++;
                }
            }
        }

        Assert.True(edgesChecked >= 10);
    }

    [Fact]
    public void Generate_ColouredNames_NameMatchesColour()
    {
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 5, ColouredNames = true });
        Assert.Equal(ShapesWorld.NamedColours.Count * 4, world.ClassNames.Count);
        var sample = world.Generate(0);
        foreach (var o in sample.Objects)
        {
            var colour = ShapesWorld.NamedColours.Single(c => o.ClassName.StartsWith(c.Name + " ", StringComparison.Ordinal));
            Assert.Equal((colour.R, colour.G, colour.B), (o.R, o.G, o.B));
        }
    }

    [Fact]
    public void WriteFolder_TagsCsvAnnotationsAndGroundTruth_FollowIngestFormats()
    {
        using var temp = new TempFolder();
        var dataset = Path.Combine(temp.Path, "shapes");
        var truthPath = Path.Combine(temp.Path, "truth.json");
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 2 });
        var truth = world.WriteFolder(dataset, 12, new ShapesFolderOptions { BoxedCount = 6, GoldCount = 2, GroundTruthPath = truthPath });

        Assert.Equal(12, Directory.GetFiles(dataset, "*.png").Length);
        // Only images and the three metadata files in the dataset folder (anything else the scan reports).
        Assert.Equal(["annotations.json", "tags.csv"], Directory.GetFiles(dataset).Select(Path.GetFileName).Where(n => !n!.EndsWith(".png", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

        // tags.csv: RFC 4180 `relative_path,tag` with a header row, tags separated by ';'.
        var lines = File.ReadAllLines(dataset + "/tags.csv", Encoding.UTF8);
        Assert.Equal("relative_path,tag", lines[0]);
        Assert.Equal(13, lines.Length);
        for (int i = 0; i < 12; i++)
        {
            var fields = lines[i + 1].Split(',');
            Assert.Equal(2, fields.Length);
            Assert.Equal($"{i:D5}.png", fields[0]);
            Assert.True(File.Exists(Path.Combine(dataset, fields[0])));
            var tags = fields[1].Split([';', '|']);
            Assert.Equal(truth.Images[i].Objects.Select(o => o.ClassName).Distinct().Order(), tags.Order());
        }

        // annotations.json: COCO, file_name relative to the dataset folder, bbox [x, y, w, h], split per image.
        using var coco = JsonDocument.Parse(File.ReadAllText(dataset + "/annotations.json"));
        var images = coco.RootElement.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(6, images.Count);
        Assert.Equal(["val", "val", "train", "train", "train", "train"], images.Select(e => e.GetProperty("split").GetString()));
        var categories = coco.RootElement.GetProperty("categories").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetInt32(), c => c.GetProperty("name").GetString());
        var first = coco.RootElement.GetProperty("annotations").EnumerateArray().Where(a => a.GetProperty("image_id").GetInt32() == images[0].GetProperty("id").GetInt32()).ToList();
        Assert.Equal(truth.Images[0].Objects.Count, first.Count);
        var bbox = first[0].GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var expected = truth.Images[0].Objects[0];
        Assert.Equal(expected.ClassName, categories[first[0].GetProperty("category_id").GetInt32()]);
        Assert.Equal(expected.Box[0], bbox[0], 3);
        Assert.Equal(expected.Box[2], bbox[0] + bbox[2], 3);
        Assert.Equal(0, first[0].GetProperty("iscrowd").GetInt32());

        var reread = ShapesGroundTruth.FromJson(File.ReadAllText(truthPath));
        Assert.Equal(12, reread.Images.Count);
        Assert.Equal(truth.Images[5].Objects[0].Box, reread.Images[5].Objects[0].Box);
        Assert.Equal("val", reread.Images[1].Split);
        Assert.Null(reread.Images[7].Split);
    }

    [Fact]
    public void WriteFolder_ImageFolder_PutsImagesInSubfolder()
    {
        using var temp = new TempFolder();
        var truth = new ShapesWorld().WriteFolder(temp.Path, 2, new ShapesFolderOptions { ImageFolder = "images" });
        Assert.Equal("images/00001.png", truth.Images[1].Path);
        Assert.True(File.Exists(Path.Combine(temp.Path, "images", "00001.png")));
        Assert.Contains("images/00000.png,", File.ReadAllText(Path.Combine(temp.Path, "tags.csv")), StringComparison.Ordinal);
    }

    private static float IoU(ShapeObject a, ShapeObject b)
    {
        float iw = Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1), ih = Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1);
        if (iw <= 0 || ih <= 0)
        {
            return 0;
        }

        float inter = iw * ih;
        return inter / (((a.X2 - a.X1) * (a.Y2 - a.Y1)) + ((b.X2 - b.X1) * (b.Y2 - b.Y1)) - inter);
    }
}
