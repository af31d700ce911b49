using System.Globalization;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using SkiaSharp;

namespace Labeling.Bootstrap;

/// <summary>
/// The demo's table as a chart: COCO AP-base and AP-novel on the gold split per round (seed, round 1, …),
/// the oracle as dashed lines in the same colours.
/// </summary>
/// <remarks>
/// OxyPlot.Core lays the chart out; <see cref="SkiaChartContext"/> below draws it with SkiaSharp 4. OxyPlot.SkiaSharp
/// 2.2.0's PngExporter was tried with the SkiaSharp 4.154.0 this repository pins and does not throw, but draws no
/// text at all: it gets its typeface from <c>SKTypeface.FromFamilyName</c>, which on SkiaSharp's NoDependencies
/// natives (no font manager) is an empty typeface with no glyphs, and 2.2.0 has no hook to supply another one. With
/// its default text shaping it also fails (SkiaSharp.HarfBuzz 2.88's <c>SKShaper</c> throws ArgumentNullException
/// 'asset' on that typeface), and it drags in SkiaSharp.HarfBuzz 2.88 (built for SkiaSharp 2, NU1603 here) while
/// calling text APIs that SkiaSharp 3+ marks obsolete. The context below is small, uses SkiaSharp 4's SKFont text
/// APIs, and loads a font file from the system (fonts-dejavu-core, which infra/local/install.sh installs).
/// </remarks>
public static class DemoChart
{
    /// <summary>The AP-base colour (series and oracle line).</summary>
    internal static readonly SKColor BaseColor = new(0x1f, 0x77, 0xb4);

    /// <summary>The AP-novel colour (series and oracle line).</summary>
    internal static readonly SKColor NovelColor = new(0xe6, 0x55, 0x0d);

    /// <summary>Renders the chart as a PNG of <paramref name="width"/> × <paramref name="height"/> pixels on white.</summary>
    public static byte[] RenderPng(DemoReport report, int width = 900, int height = 540)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);

        var model = BuildModel(report);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}x{height} surface");
        surface.Canvas.Clear(SKColors.White);
        using (var context = new SkiaChartContext(surface.Canvas))
        {
            IPlotModel plot = model;
            plot.Update(true);
            plot.Render(context, new OxyRect(0, 0, width, height));
        }

        // PlotModel catches what a series or axis throws and paints it as an error message instead: fail loudly.
        if (model.GetLastPlotException() is { } error)
        {
            throw new InvalidOperationException($"the demo chart did not render: {error.Message}", error);
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>Writes the chart as a PNG file (900 × 540), creating the folder if needed.</summary>
    public static void Save(DemoReport report, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        File.WriteAllBytes(path, RenderPng(report));
    }

    internal static PlotModel BuildModel(DemoReport report)
    {
        var rounds = report.Rounds ?? [];
        var baseColor = Oxy(BaseColor);
        var novelColor = Oxy(NovelColor);
        var model = new PlotModel
        {
            Title = report.Title,
            Subtitle = rounds.Count == 0
                ? "COCO AP on the gold split: no rounds"
                : $"COCO AP on the gold split, seed and {rounds.Count - 1} round(s){(report.Oracle is null ? "" : " vs the oracle")}",
            Background = OxyColors.White,
            PlotAreaBorderColor = OxyColor.FromRgb(0x99, 0x99, 0x99),
            DefaultFont = "DejaVu Sans",
        };
        model.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Outside,
            LegendPosition = LegendPosition.BottomCenter,
            LegendOrientation = LegendOrientation.Horizontal,
            LegendBorderThickness = 0,
            LegendSymbolLength = 28,
        });

        var names = rounds.Select(row => row.Name).ToList();
        model.Axes.Add(new CategoryAxis
        {
            Position = AxisPosition.Bottom,
            ItemsSource = names,
            // Half a category of room on both sides, whether or not the oracle lines reach that far.
            Minimum = -0.5,
            Maximum = Math.Max(names.Count, 1) - 0.5,
            IsPanEnabled = false,
            IsZoomEnabled = false,
        });

        var values = rounds.SelectMany(row => new[] { row.Metrics?.APBase, row.Metrics?.APNovel })
            .Concat([report.Oracle?.Metrics?.APBase, report.Oracle?.Metrics?.APNovel])
            .Where(Valid)
            .Select(value => value!.Value)
            .ToList();
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left,
            Title = "COCO AP (IoU 0.50:0.95)",
            Minimum = 0,
            Maximum = Top(values),
            MajorGridlineStyle = LineStyle.Solid,
            MajorGridlineColor = OxyColor.FromRgb(0xe4, 0xe4, 0xe4),
            StringFormat = "0.0#",
            IsPanEnabled = false,
            IsZoomEnabled = false,
        });

        model.Series.Add(RoundSeries("AP-base", baseColor, rounds.Select(row => row.Metrics?.APBase)));
        model.Series.Add(RoundSeries("AP-novel", novelColor, rounds.Select(row => row.Metrics?.APNovel)));
        if (report.Oracle?.Metrics is { } oracle && rounds.Count > 0)
        {
            AddOracle(model, "AP-base", baseColor, oracle.APBase, rounds.Count);
            AddOracle(model, "AP-novel", novelColor, oracle.APNovel, rounds.Count);
        }

        return model;
    }

    /// <summary>The y axis top: 1.0, or less when every value is well below it (rounded up to 0.1 with headroom).</summary>
    private static double Top(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return 1.0;
        }

        var top = Math.Ceiling(values.Max() * 1.15 * 10) / 10;
        return Math.Clamp(top, 0.1, 1.0);
    }

    private static LineSeries RoundSeries(string title, OxyColor color, IEnumerable<double?> values)
    {
        var series = new LineSeries
        {
            Title = title,
            Color = color,
            StrokeThickness = 2.5,
            MarkerType = MarkerType.Circle,
            MarkerSize = 4.5,
            MarkerFill = color,
            MarkerStroke = color,
        };

        // A round without the metric is a gap: undefined points break the line instead of bridging it.
        var x = 0;
        foreach (var value in values)
        {
            series.Points.Add(Valid(value) ? new DataPoint(x, value!.Value) : DataPoint.Undefined);
            x++;
        }

        return series;
    }

    private static void AddOracle(PlotModel model, string name, OxyColor color, double? value, int rounds)
    {
        if (!Valid(value))
        {
            return;
        }

        // Across every round: from the left edge of the first category to the right edge of the last.
        var series = new LineSeries
        {
            Title = string.Create(CultureInfo.InvariantCulture, $"oracle {name} ({value!.Value:F3})"),
            Color = color,
            StrokeThickness = 2,
            LineStyle = LineStyle.Dash,
            MarkerType = MarkerType.None,
        };
        series.Points.Add(new DataPoint(-0.5, value.Value));
        series.Points.Add(new DataPoint(rounds - 0.5, value.Value));
        model.Series.Add(series);
    }

    private static bool Valid(double? value) => value is { } v && double.IsFinite(v);

    private static OxyColor Oxy(SKColor color) => OxyColor.FromArgb(color.Alpha, color.Red, color.Green, color.Blue);

    /// <summary>
    /// OxyPlot's <see cref="IRenderContext"/> over a SkiaSharp 4 canvas: paths for lines and shapes, SKFont for text.
    /// Font families are ignored: every text is drawn with one system font (bold for weights of 600 and more).
    /// </summary>
    private sealed class SkiaChartContext(SKCanvas canvas) : RenderContextBase, IDisposable
    {
        // SkiaSharp's NoDependencies natives have no font manager: the default typeface has no glyphs.
        private static readonly string[] RegularFiles =
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        ];

        private static readonly string[] BoldFiles =
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
            "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
        ];

        private static readonly Lazy<SKTypeface?> Regular = new(() => LoadTypeface(RegularFiles));
        private static readonly Lazy<SKTypeface?> Bold = new(() => LoadTypeface(BoldFiles));

        private readonly SKPaint _paint = new();
        private int _clips;

        public override int ClipCount => _clips;

        public void Dispose() => _paint.Dispose();

        public override void DrawLine(IList<ScreenPoint> points, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode, double[]? dashArray = null, LineJoin lineJoin = LineJoin.Miter)
        {
            if (points.Count < 2 || !stroke.IsVisible() || thickness <= 0)
            {
                return;
            }

            using var path = MakePath(points, close: false);
            using var dash = Dash(dashArray, thickness);
            canvas.DrawPath(path, Stroke(stroke, thickness, ShouldUseAntiAliasingForLine(edgeRenderingMode, points), lineJoin, dash));
        }

        public override void DrawPolygon(IList<ScreenPoint> points, OxyColor fill, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode, double[]? dashArray = null, LineJoin lineJoin = LineJoin.Miter)
        {
            if (points.Count < 2)
            {
                return;
            }

            var antialias = ShouldUseAntiAliasingForLine(edgeRenderingMode, points);
            using var path = MakePath(points, close: true);
            if (fill.IsVisible())
            {
                canvas.DrawPath(path, Fill(fill, antialias));
            }

            if (stroke.IsVisible() && thickness > 0)
            {
                using var dash = Dash(dashArray, thickness);
                canvas.DrawPath(path, Stroke(stroke, thickness, antialias, lineJoin, dash));
            }
        }

        public override void DrawRectangle(OxyRect rectangle, OxyColor fill, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode)
        {
            var rect = Rect(rectangle);
            var antialias = ShouldUseAntiAliasingForRect(edgeRenderingMode);
            if (fill.IsVisible())
            {
                canvas.DrawRect(rect, Fill(fill, antialias));
            }

            if (stroke.IsVisible() && thickness > 0)
            {
                canvas.DrawRect(rect, Stroke(stroke, thickness, antialias, LineJoin.Miter, null));
            }
        }

        public override void DrawEllipse(OxyRect extents, OxyColor fill, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode)
        {
            var rect = Rect(extents);
            var antialias = ShouldUseAntiAliasingForEllipse(edgeRenderingMode);
            if (fill.IsVisible())
            {
                canvas.DrawOval(rect, Fill(fill, antialias));
            }

            if (stroke.IsVisible() && thickness > 0)
            {
                canvas.DrawOval(rect, Stroke(stroke, thickness, antialias, LineJoin.Miter, null));
            }
        }

        public override void DrawText(ScreenPoint p, string text, OxyColor fill, string? fontFamily = null, double fontSize = 10, double fontWeight = 400, double rotation = 0, HorizontalAlignment horizontalAlignment = HorizontalAlignment.Left, VerticalAlignment verticalAlignment = VerticalAlignment.Top, OxySize? maxSize = null)
        {
            if (string.IsNullOrEmpty(text) || !fill.IsVisible())
            {
                return;
            }

            using var font = Font(fontSize, fontWeight);
            var lines = Lines(text);
            var metrics = font.Metrics;
            var lineHeight = font.Spacing;
            var y = verticalAlignment switch
            {
                VerticalAlignment.Top => -metrics.Ascent,
                VerticalAlignment.Middle => -(metrics.Ascent + metrics.Descent + (lineHeight * (lines.Length - 1))) / 2,
                _ => -metrics.Descent - (lineHeight * (lines.Length - 1)),
            };

            var paint = Fill(fill, antialias: true);
            canvas.Save();
            canvas.Translate((float)p.X, (float)p.Y);
            canvas.RotateDegrees((float)rotation);
            foreach (var line in lines)
            {
                var width = font.MeasureText(line);
                var x = horizontalAlignment switch
                {
                    HorizontalAlignment.Left => 0f,
                    HorizontalAlignment.Center => -width / 2,
                    _ => -width,
                };
                canvas.DrawText(line, x, y, SKTextAlign.Left, font, paint);
                y += lineHeight;
            }

            canvas.Restore();
        }

        public override OxySize MeasureText(string text, string? fontFamily = null, double fontSize = 10, double fontWeight = 500)
        {
            if (string.IsNullOrEmpty(text))
            {
                return OxySize.Empty;
            }

            using var font = Font(fontSize, fontWeight);
            var lines = Lines(text);
            return new OxySize(lines.Max(line => font.MeasureText(line)), font.Spacing * lines.Length);
        }

        public override void PushClip(OxyRect clippingRectangle)
        {
            canvas.Save();
            canvas.ClipRect(Rect(clippingRectangle));
            _clips++;
        }

        public override void PopClip()
        {
            if (_clips == 0)
            {
                throw new InvalidOperationException("Unbalanced call to PopClip.");
            }

            canvas.Restore();
            _clips--;
        }

        private static SKTypeface? LoadTypeface(string[] files)
        {
            if (SKTypeface.Default.GlyphCount > 0)
            {
                return null; // a font manager exists (other natives): its default typeface will do
            }

            foreach (var file in files)
            {
                if (File.Exists(file) && SKTypeface.FromFile(file) is { GlyphCount: > 0 } typeface)
                {
                    return typeface;
                }
            }

            return null;
        }

        private static SKFont Font(double size, double weight)
        {
            var bold = weight >= 600;
            var typeface = (bold ? Bold.Value : null) ?? Regular.Value;
            var font = typeface is null ? new SKFont { Size = (float)size } : new SKFont(typeface, (float)size);
            font.Edging = SKFontEdging.Antialias;
            font.Subpixel = true;
            font.Embolden = bold && Bold.Value is null;
            return font;
        }

        private static string[] Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

        private static SKRect Rect(OxyRect rect) => new((float)rect.Left, (float)rect.Top, (float)rect.Right, (float)rect.Bottom);

        private static SKPath MakePath(IList<ScreenPoint> points, bool close)
        {
            using var builder = new SKPathBuilder();
            builder.MoveTo((float)points[0].X, (float)points[0].Y);
            for (var i = 1; i < points.Count; i++)
            {
                builder.LineTo((float)points[i].X, (float)points[i].Y);
            }

            if (close)
            {
                builder.Close();
            }

            return builder.Detach();
        }

        // OxyPlot's dash arrays are in multiples of the stroke thickness.
        private static SKPathEffect? Dash(double[]? dashArray, double thickness) =>
            dashArray is { Length: >= 2 } ? SKPathEffect.CreateDash([.. dashArray.Select(d => (float)(d * thickness))], 0) : null;

        private SKPaint Fill(OxyColor color, bool antialias)
        {
            _paint.Reset();
            _paint.Style = SKPaintStyle.Fill;
            _paint.IsAntialias = antialias;
            _paint.Color = new SKColor(color.R, color.G, color.B, color.A);
            return _paint;
        }

        private SKPaint Stroke(OxyColor color, double thickness, bool antialias, LineJoin join, SKPathEffect? dash)
        {
            _paint.Reset();
            _paint.Style = SKPaintStyle.Stroke;
            _paint.IsAntialias = antialias;
            _paint.Color = new SKColor(color.R, color.G, color.B, color.A);
            _paint.StrokeWidth = (float)thickness;
            _paint.StrokeJoin = join switch
            {
                LineJoin.Round => SKStrokeJoin.Round,
                LineJoin.Bevel => SKStrokeJoin.Bevel,
                _ => SKStrokeJoin.Miter,
            };
            _paint.StrokeMiter = 10;
            _paint.PathEffect = dash;
            return _paint;
        }
    }
}
