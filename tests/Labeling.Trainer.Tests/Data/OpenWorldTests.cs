using System.Text.Json;
using Labeling.Imaging;
using Labeling.Trainer.Data;

namespace Labeling.Trainer.Tests.Data;

public sealed class OpenWorldTests
{
    [Fact]
    public void Classes_AreColourTimesShape_ATHirdNovel_EveryNovelWordSeenInBaseClasses()
    {
        var world = new OpenWorld();
        Assert.Equal(30, world.ClassNames.Count);
        Assert.Equal(10, world.NovelClasses.Count);
        Assert.Equal(20, world.BaseClasses.Count);
        Assert.Empty(world.BaseClasses.Intersect(world.NovelClasses));
        var baseWords = world.BaseClasses.SelectMany(c => c.Split(' ')).ToHashSet();
        foreach (var novel in world.NovelClasses)
        {
            // Compositional zero-shot is possible only when both words of a novel name occur in base names.
            Assert.All(novel.Split(' '), word => Assert.Contains(word, baseWords));
        }
    }

    [Fact]
    public void Generate_IsDeterministic_PerSeedSetAndIndex()
    {
        var a = new OpenWorld(new OpenWorldOptions { Seed = 3 });
        var b = new OpenWorld(new OpenWorldOptions { Seed = 3 });
        var c = new OpenWorld(new OpenWorldOptions { Seed = 4 });
        foreach (var set in Enum.GetValues<OpenWorldSet>())
        {
            Assert.Equal(a.Generate(set, 5).Png, b.Generate(set, 5).Png);
            Assert.NotEqual(a.Generate(set, 5).Png, c.Generate(set, 5).Png);
        }

        Assert.NotEqual(a.Generate(OpenWorldSet.Base, 5).Png, a.Generate(OpenWorldSet.Gold, 5).Png);
    }

    [Fact]
    public void Sets_DrawTheirClasses_BaseHasNoNovelObject_TaggedHasOneOrTwoLargeObjects()
    {
        var world = new OpenWorld(new OpenWorldOptions { Seed = 5 });
        var seenInGold = new HashSet<string>();
        for (var i = 0; i < 60; i++)
        {
            var scene = world.Generate(OpenWorldSet.Base, i);
            Assert.InRange(scene.Objects.Count, 1, 4);
            Assert.All(scene.Objects, o => Assert.Contains(o.ClassName, world.BaseClasses));

            var tagged = world.Generate(OpenWorldSet.Tagged, i);
            Assert.InRange(tagged.Objects.Count, 1, 2);
            Assert.All(tagged.Objects, o => Assert.True(Math.Max(o.X2 - o.X1, o.Y2 - o.Y1) >= 0.35f * 128 - 0.01f, $"tagged image {i}: a small object"));
            // The first object cycles through every class: all 30 are covered by 30 consecutive images.
            Assert.Equal(world.ClassNames[i % 30], tagged.Objects[0].ClassName);

            var gold = world.Generate(OpenWorldSet.Gold, i);
            seenInGold.UnionWith(gold.Objects.Select(o => o.ClassName));
            foreach (var o in gold.Objects.Concat(scene.Objects))
            {
                Assert.InRange(o.X1, 0f, 128f);
                Assert.InRange(o.X2, o.X1 + 8, 128f);
                Assert.InRange(o.Y2, o.Y1 + 8, 128f);
            }
        }

        Assert.Equal(world.ClassNames.Order(), seenInGold.Order());
    }

    [Fact]
    public void Generate_TaggedFromBaseClassesOnly_WhenAsked()
    {
        var world = new OpenWorld();
        for (var i = 0; i < 40; i++)
        {
            Assert.All(world.Generate(OpenWorldSet.Tagged, i, world.BaseClasses).Objects, o => Assert.Contains(o.ClassName, world.BaseClasses));
        }
    }

    [Fact]
    public void Generate_ObjectColourIsItsClassColour()
    {
        var world = new OpenWorld(new OpenWorldOptions { Seed = 9 });
        var checkedObjects = 0;
        for (var i = 0; i < 20; i++)
        {
            var sample = world.Generate(OpenWorldSet.Gold, i);
            foreach (var o in sample.Objects)
            {
                var named = OpenWorld.Colours.Single(c => o.ClassName.StartsWith(c.Name + " ", StringComparison.Ordinal));
                // Jitter keeps the fill within 14 per channel of the named colour.
                Assert.InRange(Math.Abs(o.R - named.R), 0, 14);
                Assert.InRange(Math.Abs(o.G - named.G), 0, 14);
                Assert.InRange(Math.Abs(o.B - named.B), 0, 14);
                checkedObjects++;
            }

            var decoded = ImageDecoder.Decode(sample.Png, new ImageDecodeOptions());
            Assert.True(decoded.Success);
            Assert.Equal(128, decoded.Image!.Width);
        }

        Assert.True(checkedObjects >= 20);
    }

    [Fact]
    public void WriteSet_FollowsTheIngestConventions()
    {
        var folder = Path.Combine(Path.GetTempPath(), "openworld-" + Guid.NewGuid().ToString("N"));
        try
        {
            var world = new OpenWorld();
            var gold = world.WriteSet(Path.Combine(folder, "gold"), OpenWorldSet.Gold, 12);
            var tagged = world.WriteSet(Path.Combine(folder, "tagged"), OpenWorldSet.Tagged, 7);
            world.WriteSet(Path.Combine(folder, "base"), OpenWorldSet.Base, 5);

            using var coco = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "gold", "annotations.json")));
            Assert.Equal(12, coco.RootElement.GetProperty("images").GetArrayLength());
            Assert.All(coco.RootElement.GetProperty("images").EnumerateArray(), i => Assert.Equal("val", i.GetProperty("split").GetString()));
            Assert.Equal(gold.Images.Sum(i => i.Objects.Count), coco.RootElement.GetProperty("annotations").GetArrayLength());
            Assert.Equal(30, coco.RootElement.GetProperty("categories").GetArrayLength());

            using var baseCoco = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "base", "annotations.json")));
            Assert.Equal(20, baseCoco.RootElement.GetProperty("categories").GetArrayLength());

            var lines = File.ReadAllLines(Path.Combine(folder, "tagged", "tags.csv"));
            Assert.Equal("relative_path,tag", lines[0]);
            Assert.Equal(8, lines.Length);
            Assert.Equal($"00000.png,{string.Join(';', tagged.Images[0].Objects.Select(o => o.ClassName).Distinct())}", lines[1]);
            Assert.False(File.Exists(Path.Combine(folder, "tagged", "annotations.json")));
            Assert.Equal(7, Directory.GetFiles(Path.Combine(folder, "tagged"), "*.png").Length);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Options_RejectObjectsTooSmallForTheDetector()
    {
        Assert.Throws<ArgumentException>(() => new OpenWorld(new OpenWorldOptions { ImageSize = 48, MinObjectFraction = 0.1f }));
        Assert.Throws<ArgumentException>(() => new OpenWorld(new OpenWorldOptions { MinObjectFraction = 0.5f, MaxObjectFraction = 0.4f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenWorld().Generate(OpenWorldSet.Base, -1));
    }
}
