using SkiaSharp;

namespace Labeling.Bootstrap.Tests;

public sealed class DemoChartTests
{
    [Theory]
    [InlineData(900, 540)]
    [InlineData(640, 400)]
    public void RenderPng_DecodesToTheRequestedSize_OnWhite(int width, int height)
    {
        using var bitmap = Decode(DemoChart.RenderPng(Report(), width, height));

        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
        Assert.Equal(SKColors.White, bitmap.GetPixel(1, 1));
        Assert.Equal(SKColors.White, bitmap.GetPixel(width - 2, height - 2));
    }

    [Fact]
    public void RenderPng_DrawsBothSeriesColours()
    {
        using var bitmap = Decode(DemoChart.RenderPng(Report()));

        Assert.True(Count(bitmap, DemoChart.BaseColor) > 200, $"AP-base pixels: {Count(bitmap, DemoChart.BaseColor)}");
        Assert.True(Count(bitmap, DemoChart.NovelColor) > 200, $"AP-novel pixels: {Count(bitmap, DemoChart.NovelColor)}");
    }

    [Fact]
    public void RenderPng_DrawsText_NotBlankLabels()
    {
        // SkiaSharp's NoDependencies natives have no font manager: a chart drawn with the default typeface has no text.
        using var bitmap = Decode(DemoChart.RenderPng(Report()));

        var titleInk = Count(bitmap, 0, 0, bitmap.Width, 40, Dark);
        Assert.True(titleInk > 100, $"dark pixels in the title band: {titleInk} (fonts-dejavu-core missing? run infra/local/install.sh)");
    }

    [Fact]
    public void RenderPng_WithoutOracle_StillRendersBothSeries_AndFewerSeriesPixels()
    {
        var withOracle = Report();
        using var with = Decode(DemoChart.RenderPng(withOracle));
        using var without = Decode(DemoChart.RenderPng(withOracle with { Oracle = null }));

        Assert.True(Count(without, DemoChart.BaseColor) > 100);
        Assert.True(Count(without, DemoChart.NovelColor) > 100);
        // The oracle's dashed lines (and their legend entries) are in the series colours.
        Assert.True(Count(with, DemoChart.BaseColor) > Count(without, DemoChart.BaseColor) + 100);
        Assert.True(Count(with, DemoChart.NovelColor) > Count(without, DemoChart.NovelColor) + 100);
    }

    [Fact]
    public void RenderPng_AllMetricsNull_RendersWithoutSeriesLines()
    {
        var none = new GoldMetrics(double.NaN, double.NaN, null, null, null, null, 0, 0);
        var report = new DemoReport("Nothing measured", "", [Row("seed", none), Row("round 1", none)], Row("oracle", none), 0);

        using var bitmap = Decode(DemoChart.RenderPng(report));
        using var full = Decode(DemoChart.RenderPng(Report()));

        Assert.Equal(900, bitmap.Width);
        // Only the legend's two symbols are left in the series colours.
        Assert.True(Count(bitmap, DemoChart.NovelColor) * 3 < Count(full, DemoChart.NovelColor));
        Assert.True(Count(bitmap, DemoChart.BaseColor) * 3 < Count(full, DemoChart.BaseColor));
    }

    [Fact]
    public void RenderPng_NoRounds_RendersWithoutThrowing()
    {
        using var bitmap = Decode(DemoChart.RenderPng(new DemoReport("Empty", "", [], null, 0)));

        Assert.Equal(540, bitmap.Height);
    }

    [Fact]
    public void RenderPng_SkipsNullRounds_ButDrawsTheOthers()
    {
        var report = Report();
        var rounds = report.Rounds.ToList();
        rounds[1] = rounds[1] with { Metrics = rounds[1].Metrics with { APNovel = null } };

        using var bitmap = Decode(DemoChart.RenderPng(report with { Rounds = rounds }));

        Assert.True(Count(bitmap, DemoChart.NovelColor) > 100);
    }

    [Fact]
    public void RenderPng_HigherNovelValues_MoveTheNovelPixelsUp_AndLeaveTheColumnsOfTheRestAlone()
    {
        // The oracle's AP-base (0.8) sets the y axis top in both, so only the AP-novel line moves.
        var low = Report();
        var high = low with { Rounds = [.. low.Rounds.Select(row => row with { Metrics = row.Metrics with { APNovel = row.Metrics.APNovel + 0.1 } })] };

        using var a = Decode(DemoChart.RenderPng(low));
        using var b = Decode(DemoChart.RenderPng(high));

        var changed = Enumerable.Range(0, a.Width).Where(x => Enumerable.Range(0, a.Height).Any(y => a.GetPixel(x, y) != b.GetPixel(x, y))).ToList();
        Assert.NotEmpty(changed);
        Assert.True(MeanY(b, DemoChart.NovelColor) < MeanY(a, DemoChart.NovelColor) - 8,
            $"AP-novel mean y: {MeanY(a, DemoChart.NovelColor):F1} -> {MeanY(b, DemoChart.NovelColor):F1}");
        Assert.InRange(MeanY(b, DemoChart.BaseColor), MeanY(a, DemoChart.BaseColor) - 3, MeanY(a, DemoChart.BaseColor) + 3);
        // The y axis labels on the left (x < 40) did not change.
        Assert.All(changed, x => Assert.True(x >= 40, $"column {x} changed"));
    }

    [Fact]
    public void Save_WritesAPngFile_CreatingTheFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"demo-chart-{Guid.NewGuid():N}");
        try
        {
            var path = Path.Combine(folder, "charts", "report.png");
            DemoChart.Save(Report(), path);

            using var bitmap = Decode(File.ReadAllBytes(path));
            Assert.Equal(900, bitmap.Width);
            Assert.Equal(540, bitmap.Height);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static DemoReport Report()
    {
        DemoRow[] rounds =
        [
            Row("seed", Metrics(0.42, 0.05)),
            Row("round 1", Metrics(0.45, 0.18)),
            Row("round 2", Metrics(0.47, 0.26)),
            Row("round 3", Metrics(0.48, 0.31)),
        ];
        return new DemoReport("Bootstrap demo", "30 classes (10 novel)", rounds, Row("oracle", Metrics(0.80, 0.62)), 12.5);
    }

    private static GoldMetrics Metrics(double apBase, double apNovel) =>
        new((apBase + apNovel) / 2, Math.Min(1, apBase + 0.2), apBase, apNovel, Math.Min(1, apBase + 0.2), Math.Min(1, apNovel + 0.2), 40, 400);

    private static DemoRow Row(string name, GoldMetrics metrics) => new(name, name == "oracle" ? "" : name.Replace(' ', '-'), metrics, 0, 1);

    private static SKBitmap Decode(byte[] png) => SKBitmap.Decode(png) ?? throw new InvalidOperationException("not a decodable image");

    private static bool Dark(SKColor c) => c.Red < 100 && c.Green < 100 && c.Blue < 100;

    private static bool Near(SKColor c, SKColor target) =>
        Math.Abs(c.Red - target.Red) <= 6 && Math.Abs(c.Green - target.Green) <= 6 && Math.Abs(c.Blue - target.Blue) <= 6;

    private static int Count(SKBitmap bitmap, SKColor target) => Count(bitmap, 0, 0, bitmap.Width, bitmap.Height, c => Near(c, target));

    private static int Count(SKBitmap bitmap, int left, int top, int right, int bottom, Func<SKColor, bool> match)
    {
        var count = 0;
        for (var y = top; y < bottom; y++)
        {
            for (var x = left; x < right; x++)
            {
                if (match(bitmap.GetPixel(x, y)))
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static double MeanY(SKBitmap bitmap, SKColor target)
    {
        long sum = 0;
        var count = 0;
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                if (Near(bitmap.GetPixel(x, y), target))
                {
                    sum += y;
                    count++;
                }
            }
        }

        return count == 0 ? double.NaN : (double)sum / count;
    }
}
