using System.Globalization;
using System.Text.Json;

namespace Labeling.Integration.Tests.Cli;

/// <summary>
/// A YOLO export of images whose names differ only in their extension (<c>chelsea.jpg</c>, <c>chelsea.png</c>): YOLO
/// pairs <c>images/x.jpg</c> with <c>labels/x.txt</c>, so each must get its own name, or the export must refuse.
/// </summary>
public sealed partial class RoundTripCommandTests
{
    /// <summary>Dataset pets: cat/{chelsea.png, chelsea.jpg, chelsea_png.png, astronaut.png} and person/astronaut.png (each different bytes); dataset people: person/teal.png; labelled.</summary>
    private async Task<string> LabelledSameStemsAsync()
    {
        var root = Path.Combine(_folder.Path, "stems");
        Directory.CreateDirectory(Path.Combine(root, "cat"));
        Directory.CreateDirectory(Path.Combine(root, "person"));
        File.Copy(RepoPaths.SharedData("images", "chelsea.png"), Path.Combine(root, "cat", "chelsea.png"));
        File.Copy(RepoPaths.SharedData("images", "rocket.jpg"), Path.Combine(root, "cat", "chelsea.jpg"));
        File.Copy(RepoPaths.SharedData("images", "coffee.png"), Path.Combine(root, "cat", "chelsea_png.png"));
        File.Copy(RepoPaths.SharedData("images", "astronaut.png"), Path.Combine(root, "cat", "astronaut.png"));
        File.Copy(RepoPaths.SharedData("images", "motorcycle_left.png"), Path.Combine(root, "person", "astronaut.png"));
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        await RunJsonAsync("models", "add", Model(), "--version", "v1", "--activate");
        await RunJsonAsync("ingest", root, "--dataset", "pets");
        var people = Path.Combine(_folder.Path, "people");
        Directory.CreateDirectory(Path.Combine(people, "person"));
        using (var bitmap = new SkiaSharp.SKBitmap(48, 32))
        {
            bitmap.Erase(SkiaSharp.SKColors.Teal); // an image of its own: the same bytes twice would be one image
            using var png = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            await File.WriteAllBytesAsync(Path.Combine(people, "person", "teal.png"), png.ToArray(), Ct);
        }

        await RunJsonAsync("ingest", people, "--dataset", "people");
        Assert.Equal(6, (await RunJsonAsync("work", "--until-idle")).GetProperty("images").GetInt64());
        return root;
    }

    /// <summary>Ultralytics' img2label_paths: the last /images/ becomes /labels/, the extension .txt.</summary>
    private static string UltralyticsLabelPath(string image)
    {
        var images = $"{Path.DirectorySeparatorChar}images{Path.DirectorySeparatorChar}";
        var at = image.LastIndexOf(images, StringComparison.Ordinal);
        var labels = image[..at] + $"{Path.DirectorySeparatorChar}labels{Path.DirectorySeparatorChar}" + image[(at + images.Length)..];
        return labels[..labels.LastIndexOf('.')] + ".txt";
    }

    [Fact]
    public async Task ExportYolo_ImagesDifferingOnlyInExtension_WithCopyImages_GetAPairEach_LabelledWithTheirOwnBoxes()
    {
        await LabelledSameStemsAsync();
        var stored = (await RunJsonAsync("query", "--limit", "100000")).EnumerateArray().ToList();
        var blobs = Path.Combine(_folder.Path, "data", "blobs", "labeling");
        var yolo = Path.Combine(_folder.Path, "yolo");

        var (code, output, error) = await RunAsync("export", "--format", "yolo", "--out", yolo, "--dataset", "pets", "--copy-images", "--json");

        Assert.True(code == 0, error + output);
        using (var summary = JsonDocument.Parse(output))
        {
            Assert.Equal(5, summary.RootElement.GetProperty("images").GetInt64());
        }

        var images = Directory.GetFiles(Path.Combine(yolo, "images"), "*", SearchOption.AllDirectories);
        var labels = Directory.GetFiles(Path.Combine(yolo, "labels"), "*", SearchOption.AllDirectories);
        Assert.Equal(5, images.Length);
        Assert.Equal(5, labels.Length);
        Assert.Equal(labels.Order(StringComparer.Ordinal), images.Select(UltralyticsLabelPath).Order(StringComparer.Ordinal));
        // Images are exported in id order, which is the scan's name order: chelsea.jpg keeps its name, the later ones do not.
        Assert.Equal(
            ["astronaut.png", "chelsea.jpg", "chelsea_png.png", "chelsea_png_png.png"],
            images.Where(i => i.Contains($"{Path.DirectorySeparatorChar}cat{Path.DirectorySeparatorChar}", StringComparison.Ordinal)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains(
            "warning: inbox/pets/cat/chelsea.png is exported as images/inbox/pets/cat/chelsea_png.png with labels/inbox/pets/cat/chelsea_png.txt: labels/inbox/pets/cat/chelsea.txt belongs to an image of the same name with another extension.",
            error.Split('\n').Select(l => l.TrimEnd('\r')));
        Assert.Empty(Directory.GetDirectories(yolo, ".labels-*"));
        var classes = await File.ReadAllLinesAsync(Path.Combine(yolo, "classes.txt"), Ct);
        foreach (var image in images)
        {
            // Which blob was copied here: the one with the same bytes (each file of the dataset differs) and extension.
            var bytes = await File.ReadAllBytesAsync(image, Ct);
            var blob = Assert.Single(stored.Select(b => b.GetProperty("imagePath").GetString()!).Distinct(),
                p => Path.GetExtension(p) == Path.GetExtension(image) && File.ReadAllBytes(Path.Combine(blobs, p)).AsSpan().SequenceEqual(bytes) && SameFolder(p, image));
            var (w, h) = Size(bytes);
            var expected = stored.Where(b => b.GetProperty("imagePath").GetString() == blob).Select(b =>
            {
                float x1 = b.GetProperty("x1").GetSingle(), y1 = b.GetProperty("y1").GetSingle(), x2 = b.GetProperty("x2").GetSingle(), y2 = b.GetProperty("y2").GetSingle();
                x1 = Math.Clamp(x1, 0, w); x2 = Math.Clamp(x2, 0, w); y1 = Math.Clamp(y1, 0, h); y2 = Math.Clamp(y2, 0, h);
                return string.Join(' ', Array.IndexOf(classes, b.GetProperty("className").GetString()).ToString(CultureInfo.InvariantCulture),
                    Yolo((x1 + x2) / 2 / w), Yolo((y1 + y2) / 2 / h), Yolo((x2 - x1) / w), Yolo((y2 - y1) / h));
            });
            Assert.Equal(expected, await File.ReadAllLinesAsync(UltralyticsLabelPath(image), Ct));
        }

        static bool SameFolder(string blobPath, string copied) =>
            copied.Replace(Path.DirectorySeparatorChar, '/').Contains("/images/" + blobPath[..(blobPath.LastIndexOf('/') + 1)], StringComparison.Ordinal);
        static string Yolo(float value) => value.ToString("0.######", CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ExportYolo_ImagesDifferingOnlyInExtension_WithoutCopyImages_IsRefused_AndAnEarlierExportIsKept()
    {
        await LabelledSameStemsAsync();
        var yolo = Path.Combine(_folder.Path, "yolo");
        // An earlier export of the other dataset: no clash there.
        await RunJsonAsync("export", "--format", "yolo", "--out", yolo, "--dataset", "people");
        var before = Directory.GetFiles(Path.Combine(yolo, "labels"), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText);
        Assert.Single(before);

        var (code, output, error) = await RunAsync("export", "--format", "yolo", "--out", yolo);

        Assert.True(code == 1, $"export exited {code}: {output}{error}");
        Assert.StartsWith("error: inbox/pets/cat/chelsea.", error, StringComparison.Ordinal);
        Assert.Contains("labels/inbox/pets/cat/chelsea.txt", error, StringComparison.Ordinal);
        Assert.Contains("--copy-images", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Equal(before, Directory.GetFiles(Path.Combine(yolo, "labels"), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText));
        Assert.Empty(Directory.GetDirectories(yolo, ".labels-*"));
    }

    private static (float W, float H) Size(byte[] bytes)
    {
        var (header, _) = Labeling.Imaging.ImageDecoder.ReadHeader(bytes);
        return (header!.Width, header.Height);
    }
}
