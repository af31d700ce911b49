using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SkiaSharp;

namespace Labeling.Trainer.Data;

/// <summary>Options of <see cref="OpenWorld"/>.</summary>
public sealed record OpenWorldOptions
{
    /// <summary>Seed: the same (seed, set, index) always gives the same image.</summary>
    public int Seed { get; init; } = 7;

    /// <summary>Image side in pixels (square images; default 128).</summary>
    public int ImageSize { get; init; } = 128;

    /// <summary>Scene objects (base and gold sets) span this fraction of the image side, from… (default 0.14).</summary>
    public float MinObjectFraction { get; init; } = 0.14f;

    /// <summary>…to this (default 0.45).</summary>
    public float MaxObjectFraction { get; init; } = 0.45f;

    /// <summary>Most objects in a scene (default 4; at least 1).</summary>
    public int MaxObjects { get; init; } = 4;

    /// <summary>Two object boxes overlap at most this much (IoU; default 0.3): later objects partly hide earlier ones.</summary>
    public float MaxOverlap { get; init; } = 0.3f;

    /// <summary>Throws <see cref="ArgumentException"/> for values that cannot work.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ImageSize, 48);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxObjects, 1);
        if (!(MinObjectFraction is > 0 and < 1) || !(MaxObjectFraction is > 0 and < 1) || MaxObjectFraction < MinObjectFraction)
        {
            throw new ArgumentException("Object fractions must satisfy 0 < MinObjectFraction ≤ MaxObjectFraction < 1.");
        }

        if (MinObjectFraction * ImageSize < 8)
        {
            throw new ArgumentException($"Objects of {MinObjectFraction * ImageSize:F1} px are too small for the detector's stride-8 map: raise ImageSize or MinObjectFraction.");
        }
    }
}

/// <summary>The three kinds of image the world makes.</summary>
public enum OpenWorldSet
{
    /// <summary>Scenes of 1–MaxObjects objects of the BASE classes only, with human boxes (the seed detector's data).</summary>
    Base,

    /// <summary>ImageNet-like images: one or two large objects of ANY class, known only by their tags.</summary>
    Tagged,

    /// <summary>Scenes of 1–MaxObjects objects of any class, boxed: the gold evaluation split.</summary>
    Gold,
}

/// <summary>
/// A seeded open-vocabulary world: objects whose class names compose words — a colour and a shape
/// ("red star", "blue hexagon"; 6 × 5 = 30 classes) — drawn with varied size, rotation, texture
/// (solid, striped, outlined; not part of the name), partial occlusion, clutter strokes that belong to
/// no class, and textured backgrounds. A third of the classes are NOVEL: each novel class's colour and
/// shape both occur in base classes, so a compositional text embedding (hashbow) can name them before
/// any novel box is seen. Everything depends only on (options, set, index).
/// </summary>
public sealed class OpenWorld
{
    /// <summary>The colour words and their RGB.</summary>
    public static readonly IReadOnlyList<(string Name, byte R, byte G, byte B)> Colours =
    [
        ("red", 215, 35, 35), ("green", 40, 165, 55), ("blue", 40, 85, 225),
        ("yellow", 235, 215, 40), ("purple", 145, 55, 195), ("white", 245, 245, 245),
    ];

    /// <summary>The shape words.</summary>
    public static readonly IReadOnlyList<string> Shapes = ["circle", "square", "triangle", "hexagon", "star"];

    private const int ColourJitter = 14;

    /// <summary>Creates a world; null options mean the defaults.</summary>
    public OpenWorld(OpenWorldOptions? options = null)
    {
        Options = options ?? new OpenWorldOptions();
        Options.Validate();
        var all = new List<string>();
        var novel = new List<string>();
        for (var c = 0; c < Colours.Count; c++)
        {
            for (var s = 0; s < Shapes.Count; s++)
            {
                var name = $"{Colours[c].Name} {Shapes[s]}";
                all.Add(name);
                // A diagonal pattern: every colour and every shape keeps base classes.
                if ((c + s) % 3 == 0)
                {
                    novel.Add(name);
                }
            }
        }

        ClassNames = all;
        NovelClasses = novel;
        BaseClasses = [.. all.Except(novel)];
    }

    /// <summary>The options.</summary>
    public OpenWorldOptions Options { get; }

    /// <summary>Every class, colour-major.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Classes with human boxes (the <see cref="OpenWorldSet.Base"/> set).</summary>
    public IReadOnlyList<string> BaseClasses { get; }

    /// <summary>Classes seen only through tags.</summary>
    public IReadOnlyList<string> NovelClasses { get; }

    /// <summary>Image <paramref name="index"/> of <paramref name="set"/>.</summary>
    /// <param name="set">Which kind of image.</param>
    /// <param name="index">≥ 0.</param>
    /// <param name="classes">The classes the Tagged set draws from (default: all); ignored by the other sets.</param>
    public ShapeSample Generate(OpenWorldSet set, int index, IReadOnlyList<string>? classes = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var rng = new Random(ShapesWorld.HashCode((Options.Seed * 8) + (int)set, index));
        int size = Options.ImageSize;
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        PaintBackground(bitmap, rng);
        var objects = new List<ShapeObject>();
        using (var canvas = new SKCanvas(bitmap))
        {
            DrawClutter(canvas, rng, size, behind: true);
            var (pool, count, minFraction, maxFraction) = set switch
            {
                OpenWorldSet.Base => (BaseClasses, rng.Next(1, Options.MaxObjects + 1), Options.MinObjectFraction, Options.MaxObjectFraction),
                // ImageNet-like: one dominant object, sometimes a second.
                OpenWorldSet.Tagged => (classes ?? ClassNames, rng.NextDouble() < 0.3 ? 2 : 1, 0.35f, 0.65f),
                _ => (ClassNames, rng.Next(1, Options.MaxObjects + 1), Options.MinObjectFraction, Options.MaxObjectFraction),
            };
            if (pool.Count == 0)
            {
                throw new ArgumentException("No classes to draw from.", nameof(classes));
            }

            for (int attempt = 0; objects.Count < count && attempt < count * 40; attempt++)
            {
                // The first object cycles through the classes so that every class is covered evenly.
                var name = objects.Count == 0 && set != OpenWorldSet.Base ? pool[index % pool.Count] : pool[rng.Next(pool.Count)];
                var shape = name[(name.IndexOf(' ', StringComparison.Ordinal) + 1)..];
                float objectSize = size * (minFraction + ((float)rng.NextDouble() * (maxFraction - minFraction)));
                float rotation = shape == "circle" ? 0f : ((float)rng.NextDouble() * 60f) - 30f;
                var outline = ShapesWorld.Outline(shape, objectSize, rotation);
                var unscaled = ShapesWorld.Bounds(outline, objectSize, shape);
                float fit = objectSize / Math.Max(unscaled.Width, unscaled.Height);
                outline = [.. outline.Select(p => new SKPoint(p.X * fit, p.Y * fit))];
                var local = ShapesWorld.Bounds(outline, objectSize, shape);
                float x = ((float)rng.NextDouble() * (size - local.Width - 2)) + 1 - local.Left;
                float y = ((float)rng.NextDouble() * (size - local.Height - 2)) + 1 - local.Top;
                var box = SKRect.Create(local.Left + x, local.Top + y, local.Width, local.Height);
                if (objects.Any(o => ShapesWorld.IoU(o, box) > Options.MaxOverlap || Inside(o, box)))
                {
                    continue;
                }

                var colour = Colours.First(c => name.StartsWith(c.Name + " ", StringComparison.Ordinal));
                var fill = new SKColor(Jitter(colour.R, rng), Jitter(colour.G, rng), Jitter(colour.B, rng));
                using var path = ShapesWorld.BuildPath(shape, outline, objectSize, x, y);
                DrawObject(canvas, path, fill, rng);
                objects.Add(new ShapeObject(name, box.Left, box.Top, box.Right, box.Bottom, fill.Red, fill.Green, fill.Blue));
            }

            DrawClutter(canvas, rng, size, behind: false);
            canvas.Flush();
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return new ShapeSample(index, size, size, data.ToArray(), objects);
    }

    /// <summary>
    /// Writes <paramref name="count"/> images of <paramref name="set"/> into <paramref name="folder"/>, ready for the
    /// inbox (docs/ingest.md): <c>NNNNN.png</c>, and <c>annotations.json</c> (COCO; split <c>train</c> for Base,
    /// <c>val</c> for Gold) or <c>tags.csv</c> (Tagged). Returns the ground truth of every image, Tagged included.
    /// </summary>
    public ShapesGroundTruth WriteSet(string folder, OpenWorldSet set, int count, IReadOnlyList<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Directory.CreateDirectory(folder);
        var images = new List<ShapesGroundTruthImage>(count);
        var csv = new StringBuilder("relative_path,tag\n");
        string? split = set switch { OpenWorldSet.Base => "train", OpenWorldSet.Gold => "val", _ => null };
        for (int i = 0; i < count; i++)
        {
            var sample = Generate(set, i, classes);
            var relative = i.ToString("D5", CultureInfo.InvariantCulture) + ".png";
            File.WriteAllBytes(Path.Combine(folder, relative), sample.Png);
            csv.Append(relative).Append(',').Append(ShapesWorld.CsvField(string.Join(';', sample.Tags))).Append('\n');
            images.Add(new ShapesGroundTruthImage(
                relative, sample.Width, sample.Height, split,
                [.. sample.Objects.Select(o => new ShapesGroundTruthObject(o.ClassName, [o.X1, o.Y1, o.X2, o.Y2]))]));
        }

        var utf8 = new UTF8Encoding(false);
        if (set == OpenWorldSet.Tagged)
        {
            File.WriteAllText(Path.Combine(folder, "tags.csv"), csv.ToString(), utf8);
        }
        else
        {
            var named = set == OpenWorldSet.Base ? BaseClasses : ClassNames;
            File.WriteAllText(Path.Combine(folder, "annotations.json"), ShapesWorld.CocoJson(named, images), utf8);
        }

        return new ShapesGroundTruth(Options.Seed, ClassNames, images);
    }

    /// <summary>A COCO document of <paramref name="truth"/> with every class as a category (ids 1…30 in <see cref="ClassNames"/> order), image file names prefixed with <paramref name="pathPrefix"/>.</summary>
    public string CocoJson(IEnumerable<ShapesGroundTruthImage> truth, string pathPrefix = "") =>
        ShapesWorld.CocoJson(ClassNames, truth.Select(i => i with { Path = pathPrefix + i.Path }));

    private static byte Jitter(byte value, Random rng) => ShapesWorld.Clamp(value + rng.Next(-ColourJitter, ColourJitter + 1));

    /// <summary>Solid, striped (darker bands across the shape) or outlined: texture varies inside a class.</summary>
    private static void DrawObject(SKCanvas canvas, SKPath path, SKColor fill, Random rng)
    {
        using var paint = new SKPaint { Color = fill, IsAntialias = true, Style = SKPaintStyle.Fill };
        canvas.DrawPath(path, paint);
        var darker = new SKColor((byte)(fill.Red * 0.6f), (byte)(fill.Green * 0.6f), (byte)(fill.Blue * 0.6f));
        var texture = rng.Next(3);
        if (texture == 1)
        {
            canvas.Save();
            canvas.ClipPath(path, antialias: true);
            var bounds = path.Bounds;
            float step = Math.Max(4f, bounds.Width / 5f);
            using var stripe = new SKPaint { Color = darker, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = step / 3f };
            for (float s = bounds.Left - bounds.Height; s < bounds.Right; s += step)
            {
                canvas.DrawLine(s, bounds.Bottom, s + bounds.Height, bounds.Top, stripe);
            }

            canvas.Restore();
        }
        else if (texture == 2)
        {
            using var outline = new SKPaint { Color = darker, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(1.5f, path.Bounds.Width / 14f) };
            canvas.DrawPath(path, outline);
        }
    }

    /// <summary>Greyish strokes and dots that belong to no class: behind the objects (background clutter) or over them.</summary>
    private static void DrawClutter(SKCanvas canvas, Random rng, int size, bool behind)
    {
        int count = behind ? rng.Next(2, 7) : rng.Next(0, 3);
        for (int i = 0; i < count; i++)
        {
            byte grey = (byte)rng.Next(30, 200);
            var colour = new SKColor(ShapesWorld.Clamp(grey + rng.Next(-12, 13)), ShapesWorld.Clamp(grey + rng.Next(-12, 13)), ShapesWorld.Clamp(grey + rng.Next(-12, 13)));
            using var paint = new SKPaint { Color = colour, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1f + ((float)rng.NextDouble() * 2.5f) };
            float x = (float)rng.NextDouble() * size, y = (float)rng.NextDouble() * size;
            if (rng.Next(2) == 0)
            {
                float length = size * (0.1f + ((float)rng.NextDouble() * 0.4f));
                float angle = (float)rng.NextDouble() * MathF.PI;
                canvas.DrawLine(x, y, x + (length * MathF.Cos(angle)), y + (length * MathF.Sin(angle)), paint);
            }
            else
            {
                canvas.DrawCircle(x, y, 2f + ((float)rng.NextDouble() * size * 0.04f), paint);
            }
        }
    }

    /// <summary>A low-saturation base colour (objects stand out by colour, not by brightness alone), a gradient, waves and noise.</summary>
    private static void PaintBackground(SKBitmap bitmap, Random rng)
    {
        int w = bitmap.Width, h = bitmap.Height;
        float grey = 55 + rng.Next(100);
        float br = grey + rng.Next(-15, 16), bg = grey + rng.Next(-15, 16), bb = grey + rng.Next(-15, 16);
        float slope = rng.Next(-30, 31);
        float fx = 0.03f + ((float)rng.NextDouble() * 0.12f), fy = 0.03f + ((float)rng.NextDouble() * 0.12f);
        float phase = (float)rng.NextDouble() * 6.28f;
        var pixels = new byte[w * h * 4];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                float t = slope * (((x + y) / (float)(w + h)) - 0.5f);
                float wave = 10f * MathF.Sin((fx * x) + phase) * MathF.Cos(fy * y);
                int o = ((y * w) + x) * 4;
                int noise = rng.Next(-12, 13);
                pixels[o] = ShapesWorld.Clamp(br + t + wave + noise);
                pixels[o + 1] = ShapesWorld.Clamp(bg + t + wave + noise + rng.Next(-4, 5));
                pixels[o + 2] = ShapesWorld.Clamp(bb + t + wave + noise + rng.Next(-4, 5));
                pixels[o + 3] = 255;
            }
        }

        Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        bitmap.NotifyPixelsChanged();
    }

    /// <summary>One box wholly inside the other: the smaller object would hide or be hidden entirely.</summary>
    private static bool Inside(ShapeObject a, SKRect b) =>
        (b.Left >= a.X1 && b.Top >= a.Y1 && b.Right <= a.X2 && b.Bottom <= a.Y2) ||
        (a.X1 >= b.Left && a.Y1 >= b.Top && a.X2 <= b.Right && a.Y2 <= b.Bottom);
}
