using SkiaSharp;

namespace Labeling.Integration.Tests.Cli;

/// <summary>render and export after the round trip (migrate, models add, ingest, work).</summary>
public sealed partial class RoundTripCommandTests
{
    private async Task LabelledAsync()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        await RunJsonAsync("models", "add", Model(), "--version", "v1", "--activate");
        await RunJsonAsync("ingest", ImagesFolder(), "--dataset", "pets");
        Assert.Equal(5, (await RunJsonAsync("work", "--until-idle")).GetProperty("images").GetInt64());
    }

    [Fact]
    public async Task Render_DrawsTheBoxesOfALabelledImage()
    {
        await LabelledAsync();
        var path = (await RunJsonAsync("query", "--class", "person", "--limit", "1"))[0].GetProperty("imagePath").GetString()!;
        var png = Path.Combine(_folder.Path, "out", "render.png");

        var rendered = await RunJsonAsync("render", path, "--out", png);

        Assert.True(File.Exists(png));
        var boxes = rendered.GetProperty("boxes").EnumerateArray().ToList();
        Assert.NotEmpty(boxes);
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal(rendered.GetProperty("width").GetInt32(), bitmap.Width);
        Assert.Equal(rendered.GetProperty("height").GetInt32(), bitmap.Height);

        var (original, _) = Labeling.Imaging.ImageDecoder.ReadHeader(await File.ReadAllBytesAsync(Path.Combine(_folder.Path, "photos", path.Split('/')[^2], path.Split('/')[^1]), Ct));
        Assert.Equal(original!.Width, bitmap.Width);
        Assert.Equal(original.Height, bitmap.Height);

        // The last box is drawn last: its left edge, away from the labels at the top, is in its class colour.
        var last = boxes[^1];
        var color = SKColor.Parse(last.GetProperty("color").GetString()!.TrimStart('#'));
        var x = (int)last.GetProperty("x1").GetSingle();
        var y1 = last.GetProperty("y1").GetSingle();
        var y2 = last.GetProperty("y2").GetSingle();
        for (var f = 0.4f; f <= 0.6f; f += 0.05f)
        {
            var pixel = bitmap.GetPixel(x, (int)(y1 + (f * (y2 - y1))));
            Assert.Equal((color.Red, color.Green, color.Blue), (pixel.Red, pixel.Green, pixel.Blue));
        }
    }

    [Fact]
    public async Task Render_UnknownPath_FailsWithExitCode1()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);

        var (code, _, error) = await RunAsync("render", "inbox/pets/none.jpg", "--out", Path.Combine(_folder.Path, "x.png"));

        Assert.Equal(1, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "x.png")));
    }
}
