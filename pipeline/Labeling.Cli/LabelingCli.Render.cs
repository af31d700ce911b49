using System.CommandLine;
using System.Globalization;
using Labeling.Blobs;
using Labeling.Imaging;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command RenderCommand(CliContext context)
    {
        var pathArgument = new Argument<string>("image-path") { Description = "The image's blob path (as `query` shows it)." };
        var outOption = new Option<FileInfo>("--out") { Description = "The PNG file to write.", Required = true };
        var modelOption = new Option<string?>("--model") { Description = "Only boxes made by this model version." };
        var minScoreOption = new Option<float?>("--min-score") { Description = "Only boxes scored at least this." };
        var command = new Command("render", "Draw an image's boxes (class, score, source) on it at full resolution and write a PNG.");
        command.Arguments.Add(pathArgument);
        command.Options.Add(outOption);
        command.Options.Add(modelOption);
        command.Options.Add(minScoreOption);

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var path = parse.GetValue(pathArgument)!;
            var output = parse.GetValue(outOption)!;
            var store = services.GetRequiredService<ILabelStore>();
            var ids = await store.GetImageIdsByPathAsync([path], cancellationToken);
            if (!ids.TryGetValue(path, out var imageId))
            {
                throw new CliException($"No image has the blob path '{path}'.");
            }

            var blobs = services.GetRequiredService<IBlobStore>();
            byte[] bytes;
            await using (var stream = await blobs.OpenReadAsync(path, cancellationToken))
            using (var buffer = new MemoryStream())
            {
                await stream.CopyToAsync(buffer, cancellationToken);
                bytes = buffer.ToArray();
            }

            var decoded = ImageDecoder.Decode(bytes, new ImageDecodeOptions());
            if (!decoded.Success)
            {
                throw new CliException($"Cannot decode '{path}': {decoded.Message}");
            }

            var query = new BoxQuery { ImageId = imageId, ModelVersion = parse.GetValue(modelOption), MinScore = parse.GetValue(minScoreOption), Limit = QueryPageSize };
            var boxes = new List<BoxRow>();
            long after = 0;
            while (true)
            {
                var page = await store.QueryBoxesAsync(query with { AfterId = after }, cancellationToken);
                boxes.AddRange(page.Boxes);
                if (page.NextAfterId is not { } next)
                {
                    break;
                }

                after = next;
            }

            var image = decoded.Image;
            using var bitmap = image.ToBitmap();
            using (var canvas = new SKCanvas(bitmap))
            {
                DrawBoxes(canvas, image.Width, boxes);
            }

            output.Directory?.Create();
            using (var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100))
            await using (var file = File.Create(output.FullName))
            {
                encoded.SaveTo(file);
            }

            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new
                {
                    output = output.FullName, image.Width, image.Height,
                    boxes = boxes.Select(b => new { b.BoxId, className = b.ClassName, b.X1, b.Y1, b.X2, b.Y2, b.Score, source = b.Source.ToString().ToLowerInvariant(), color = Hex(ClassColor(b.ClassName)) }),
                });
            }
            else
            {
                await context.Output.WriteLineAsync($"Wrote {output.FullName} ({image.Width}x{image.Height}, {boxes.Count} box(es)).");
            }

            return 0;
        });
        return command;
    }

    // SkiaSharp's NoDependencies natives have no font manager, so the default typeface has no
    // glyphs and labels would come out blank: fall back to a font file from the system.
    private static readonly string[] FontFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    ];

    internal static SKTypeface LabelTypeface()
    {
        if (SKTypeface.Default.GlyphCount > 0)
        {
            return SKTypeface.CreateDefault();
        }

        foreach (var file in FontFiles)
        {
            if (File.Exists(file) && SKTypeface.FromFile(file) is { GlyphCount: > 0 } typeface)
            {
                return typeface;
            }
        }

        return SKTypeface.CreateDefault();
    }

    private static void DrawBoxes(SKCanvas canvas, int width, IReadOnlyList<BoxRow> boxes)
    {
        var stroke = Math.Max(3f, MathF.Round(width / 300f));
        using var typeface = LabelTypeface();
        using var font = new SKFont(typeface, Math.Max(12f, width / 60f));
        using var paint = new SKPaint { IsAntialias = false, StrokeWidth = stroke };
        using var textPaint = new SKPaint { IsAntialias = true, Color = SKColors.White };
        foreach (var box in boxes)
        {
            var color = ClassColor(box.ClassName);
            paint.Color = color;
            paint.Style = SKPaintStyle.Stroke;
            canvas.DrawRect(SKRect.Create(box.X1, box.Y1, box.X2 - box.X1, box.Y2 - box.Y1), paint);

            var label = string.Join(' ', box.ClassName, box.Score?.ToString("0.00", CultureInfo.InvariantCulture) ?? "-", box.Source.ToString().ToLowerInvariant());
            var textWidth = font.MeasureText(label);
            var textHeight = font.Size * 1.25f;
            var top = box.Y1 - textHeight >= 0 ? box.Y1 - textHeight : box.Y1; // above the box, or inside it at the image's top
            paint.Style = SKPaintStyle.Fill;
            canvas.DrawRect(SKRect.Create(box.X1 - (stroke / 2), top, textWidth + 4, textHeight), paint);
            canvas.DrawText(label, box.X1 - (stroke / 2) + 2, top + font.Size, SKTextAlign.Left, font, textPaint);
        }
    }

    /// <summary>A stable colour per class: FNV-1a of the name picks the hue.</summary>
    private static SKColor ClassColor(string className)
    {
        var hash = 2166136261u;
        foreach (var c in className)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return SKColor.FromHsv(hash % 360, 85, 95);
    }

    private static string Hex(SKColor color) => string.Create(CultureInfo.InvariantCulture, $"#{color.Red:x2}{color.Green:x2}{color.Blue:x2}");
}
