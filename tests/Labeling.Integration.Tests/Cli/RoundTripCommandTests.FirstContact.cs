using System.Text.Json;
using Labeling.Cli;

namespace Labeling.Integration.Tests.Cli;

/// <summary>What a first user tripped over: unknown classes, parse errors, cut tables, exports that do not say where the images are.</summary>
public sealed partial class RoundTripCommandTests
{
    [Fact]
    public async Task QueryAndExport_OfAnUnknownClass_NameTheNearestKnownClasses_AndExit1()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        await RunJsonAsync("ingest", ImagesFolder(), "--dataset", "pets"); // classes: cat, person

        var query = await RunAsync("query", "--class", "persn");
        var export = await RunAsync("export", "--format", "coco", "--out", Path.Combine(_folder.Path, "coco"), "--class", "kat");

        Assert.True(query.Code == 1, $"query exited {query.Code}: {query.Out}{query.Err}");
        Assert.Contains("'persn'", query.Err, StringComparison.Ordinal);
        Assert.Contains("person", query.Err, StringComparison.Ordinal);
        Assert.True(export.Code == 1, $"export exited {export.Code}: {export.Out}{export.Err}");
        Assert.Contains("cat", export.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "coco", "annotations.json")));
        // A known class (here without boxes yet) is still a plain, empty answer; names are normalised like tags.
        Assert.Empty((await RunJsonAsync("query", "--class", "Person")).EnumerateArray());
    }

    [Fact]
    public void NearestClasses_RankBySharedWordsThenEditDistance()
    {
        string[] known = ["cat", "person", "red fox", "fox terrier", "car", "zebra"];

        Assert.Equal("person", ClassNames.Nearest("persn", known)[0]);
        Assert.Equal(["red fox", "fox terrier"], ClassNames.Nearest("arctic fox", known).Take(2));
        Assert.Contains("cat", ClassNames.Nearest("kat", known));
        Assert.Empty(ClassNames.Nearest("anything", []));
        Assert.True(ClassNames.Nearest("x", known).Count <= 3);
    }

    [Theory]
    [InlineData("--min-score", "abc", "a number")]
    [InlineData("--limit", "many", "a whole number")]
    public async Task ParseErrors_SayWhatIsExpected_InWords_NotDotNetTypeNames(string option, string value, string expected)
    {
        var (code, output, error) = await RunAsync("query", option, value);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains(option, error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error + output, StringComparison.Ordinal);
        Assert.DoesNotContain("`1", error + output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryTable_WrittenToAPipe_IsNotCutAt80Columns()
    {
        Assert.SkipWhen(Environment.GetEnvironmentVariable("COLUMNS") is not null, "COLUMNS is set in this test process; it sets the width.");
        await LabelledAsync();
        var boxes = (await RunJsonAsync("query")).EnumerateArray().ToList();

        var (code, output, error) = await RunAsync("query");

        Assert.True(code == 0, error);
        var lines = output.Split('\n');
        Assert.True(lines.Max(l => l.TrimEnd().Length) > 80, output);
        Assert.All(boxes, b => Assert.Contains(b.GetProperty("imagePath").GetString()!, output, StringComparison.Ordinal));
        Assert.Equal(boxes.Count, lines.Count(l => l.Contains("inbox/pets/", StringComparison.Ordinal))); // one line per box: nothing wrapped
    }

    [Theory]
    [InlineData("100", false, 100)]
    [InlineData("100", true, 100)]
    [InlineData(null, true, null)]
    [InlineData("", true, null)]
    [InlineData("wide", true, null)]
    [InlineData(null, false, CliContext.PipedWidth)]
    [InlineData("0", false, CliContext.PipedWidth)]
    public void ConsoleWidth_IsColumns_ElseTheTerminals_ElseWide(string? columns, bool terminal, int? expected)
    {
        Assert.Equal(expected, CliContext.ConsoleWidth(columns, terminal));
    }

    [Fact]
    public async Task ExportCocoWithCopyImages_WritesImagesThatTheFileNamesResolveTo()
    {
        await LabelledAsync();
        var folder = Path.Combine(_folder.Path, "coco");
        var blobs = Path.Combine(_folder.Path, "data", "blobs", "labeling");

        var (code, output, error) = await RunAsync("export", "--format", "coco", "--out", folder, "--copy-images");

        Assert.True(code == 0, error + output);
        using var coco = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "annotations.json"), Ct));
        var names = coco.RootElement.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("file_name").GetString()!).ToList();
        Assert.Equal(4, names.Count);
        Assert.All(names, name =>
        {
            var copied = Path.Combine(folder, name);
            Assert.True(File.Exists(copied), $"{name} does not resolve under {folder}");
            Assert.Equal(File.ReadAllBytes(Path.Combine(blobs, name)), File.ReadAllBytes(copied));
        });
    }

    [Fact]
    public async Task ExportWithoutCopyImages_SaysWhereTheImagesAre()
    {
        await LabelledAsync();

        var (code, output, error) = await RunAsync("export", "--format", "coco", "--out", Path.Combine(_folder.Path, "coco"));

        Assert.True(code == 0, error + output);
        Assert.Contains(Path.Combine(_folder.Path, "data", "blobs", "labeling"), output, StringComparison.Ordinal);
        Assert.Contains("--copy-images", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportYoloWithCopyImages_PutsImagesBesideLabels()
    {
        await LabelledAsync();
        var folder = Path.Combine(_folder.Path, "yolo");

        var (code, output, error) = await RunAsync("export", "--format", "yolo", "--out", folder, "--copy-images");

        Assert.True(code == 0, error + output);
        var labels = Directory.GetFiles(Path.Combine(folder, "labels"), "*.txt", SearchOption.AllDirectories);
        Assert.Equal(4, labels.Length);
        Assert.All(labels, label =>
        {
            var relative = Path.GetRelativePath(Path.Combine(folder, "labels"), label);
            var images = Directory.GetFiles(Path.Combine(folder, "images", Path.GetDirectoryName(relative)!), Path.GetFileNameWithoutExtension(relative) + ".*");
            Assert.Single(images);
        });
    }
}
