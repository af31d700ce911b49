using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SkiaSharp;

namespace Labeling.Trainer.Data;

/// <summary>Options of <see cref="ShapesWorld"/>.</summary>
public sealed record ShapesWorldOptions
{
    /// <summary>Seed: the same (seed, index) always gives the same image.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Image width in pixels (default 256).</summary>
    public int Width { get; init; } = 256;

    /// <summary>Image height in pixels (default 256).</summary>
    public int Height { get; init; } = 256;

    /// <summary>Shape kinds: any of <c>circle</c>, <c>square</c>, <c>triangle</c>, <c>star</c>.</summary>
    public IReadOnlyList<string> Shapes { get; init; } = ShapesWorld.DefaultShapes;

    /// <summary>When true, class names carry the colour (<c>red circle</c>) and colours come from <see cref="ShapesWorld.NamedColours"/>; otherwise plain shape names with random colours.</summary>
    public bool ColouredNames { get; init; }

    /// <summary>Fewest shapes per image (default 1).</summary>
    public int MinShapes { get; init; } = 1;

    /// <summary>Most shapes per image (default 4).</summary>
    public int MaxShapes { get; init; } = 4;

    /// <summary>Smallest shape size (the longer side of its box) in pixels (default 24).</summary>
    public int MinSize { get; init; } = 24;

    /// <summary>Largest shape size (the longer side of its box) in pixels (default 96).</summary>
    public int MaxSize { get; init; } = 96;

    /// <summary>Shapes are placed so that every pair of boxes has an IoU below this (default 0.3).</summary>
    public float MaxIoU { get; init; } = 0.3f;

    /// <summary>Throws <see cref="ArgumentException"/> for inconsistent values.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Width, 32);
        ArgumentOutOfRangeException.ThrowIfLessThan(Height, 32);
        ArgumentOutOfRangeException.ThrowIfLessThan(MinShapes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxShapes, MinShapes);
        ArgumentOutOfRangeException.ThrowIfLessThan(MinSize, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSize, MinSize);
        if (MaxSize > Math.Min(Width, Height))
        {
            throw new ArgumentException($"MaxSize {MaxSize} does not fit a {Width}x{Height} image.");
        }

        if (Shapes.Count == 0 || Shapes.Any(s => !ShapesWorld.DefaultShapes.Contains(s)))
        {
            throw new ArgumentException($"Shapes must be a non-empty subset of {string.Join(", ", ShapesWorld.DefaultShapes)}.");
        }
    }
}

/// <summary>One object of a <see cref="ShapeSample"/>: class name, tight box in pixels (x2, y2 exclusive edges), and the fill colour.</summary>
public sealed record ShapeObject(string ClassName, float X1, float Y1, float X2, float Y2, byte R, byte G, byte B);

/// <summary>One generated image: PNG bytes and its objects.</summary>
public sealed record ShapeSample(int Index, int Width, int Height, byte[] Png, IReadOnlyList<ShapeObject> Objects)
{
    /// <summary>The distinct class names present (the image's tags), in first-seen order.</summary>
    public IReadOnlyList<string> Tags => Objects.Select(o => o.ClassName).Distinct(StringComparer.Ordinal).ToArray();
}

/// <summary>Which images of a written folder get COCO boxes.</summary>
public sealed record ShapesFolderOptions
{
    /// <summary>Sub-folder of the dataset folder for the images, or null/empty for the dataset folder itself.
    /// Default null: the inbox scan tags an image with the folder DIRECTLY containing it (docs/ingest.md),
    /// so <c>images/</c> would add a tag "images" to every image.</summary>
    public string? ImageFolder { get; init; }

    /// <summary>Write <c>tags.csv</c> with every image's classes (default true).</summary>
    public bool WriteTags { get; init; } = true;

    /// <summary>How many images (the first ones, by index) get human boxes in <c>annotations.json</c>. 0: no COCO file. Default 0.</summary>
    public int BoxedCount { get; init; }

    /// <summary>How many of the boxed images (the first ones) are the gold set: <c>"split": "val"</c>. Default 0.</summary>
    public int GoldCount { get; init; }

    /// <summary>Where to write the ground truth JSON of every image (outside the dataset folder: the scan reports unknown files), or null.</summary>
    public string? GroundTruthPath { get; init; }
}

/// <summary>Ground truth of a written folder, for evaluation.</summary>
public sealed record ShapesGroundTruth(
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("classes")] IReadOnlyList<string> Classes,
    [property: JsonPropertyName("images")] IReadOnlyList<ShapesGroundTruthImage> Images)
{
    /// <summary>Serialises to indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ShapesWorld.JsonOptions);

    /// <summary>Parses what <see cref="ToJson"/> wrote.</summary>
    public static ShapesGroundTruth FromJson(string json) =>
        JsonSerializer.Deserialize<ShapesGroundTruth>(json, ShapesWorld.JsonOptions) ?? throw new JsonException("The ground truth is null.");
}

/// <summary>One image of <see cref="ShapesGroundTruth"/>: path relative to the dataset folder, size, split and objects.</summary>
public sealed record ShapesGroundTruthImage(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("split")] string? Split,
    [property: JsonPropertyName("objects")] IReadOnlyList<ShapesGroundTruthObject> Objects);

/// <summary>One object of the ground truth: class and x1, y1, x2, y2 in pixels.</summary>
public sealed record ShapesGroundTruthObject(
    [property: JsonPropertyName("class")] string ClassName,
    [property: JsonPropertyName("box")] IReadOnlyList<float> Box);

/// <summary>
/// A seeded procedural world of simple filled shapes on noisy, textured backgrounds: images with
/// exact boxes, for training and evaluating the detector without any downloaded data.
/// <see cref="Generate"/> depends only on (options, index): the same seed gives the same PNG bytes.
/// </summary>
public sealed class ShapesWorld
{
    /// <summary>circle, square, triangle, star.</summary>
    public static readonly IReadOnlyList<string> DefaultShapes = ["circle", "square", "triangle", "star"];

    /// <summary>The colours of <see cref="ShapesWorldOptions.ColouredNames"/>.</summary>
    public static readonly IReadOnlyList<(string Name, byte R, byte G, byte B)> NamedColours =
    [
        ("red", 220, 30, 30), ("green", 30, 180, 40), ("blue", 30, 60, 220), ("yellow", 240, 220, 30),
        ("purple", 140, 40, 180), ("white", 250, 250, 250), ("black", 10, 10, 10),
    ];

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private const float MinContrast = 140f; // RGB distance of a shape colour from the background's base colour
    private const int BackgroundNoise = 16;   // ± per channel

    /// <summary>Creates a world; <paramref name="options"/> null means the defaults.</summary>
    public ShapesWorld(ShapesWorldOptions? options = null)
    {
        Options = options ?? new ShapesWorldOptions();
        Options.Validate();
        ClassNames = Options.ColouredNames
            ? [.. NamedColours.SelectMany(c => Options.Shapes.Select(s => $"{c.Name} {s}"))]
            : [.. Options.Shapes];
    }

    /// <summary>The options.</summary>
    public ShapesWorldOptions Options { get; }

    /// <summary>Every class name this world can produce.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The image with number <paramref name="index"/> (≥ 0): deterministic from (seed, index).</summary>
    public ShapeSample Generate(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var rng = new Random(HashCode(Options.Seed, index));
        int w = Options.Width, h = Options.Height;
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var background = PaintBackground(bitmap, rng);

        var objects = new List<ShapeObject>();
        int wanted = rng.Next(Options.MinShapes, Options.MaxShapes + 1);
        using (var canvas = new SKCanvas(bitmap))
        {
            for (int attempt = 0; objects.Count < wanted && attempt < wanted * 30; attempt++)
            {
                var shape = Options.Shapes[rng.Next(Options.Shapes.Count)];
                float size = Options.MinSize + ((float)rng.NextDouble() * (Options.MaxSize - Options.MinSize));
                float rotation = shape == "circle" ? 0f : ((float)rng.NextDouble() * 50f) - 25f;
                // Size is the box's longer side: the rotated outline is scaled to it.
                var outline = Outline(shape, size, rotation);
                var unscaled = Bounds(outline, size, shape);
                float fit = size / Math.Max(unscaled.Width, unscaled.Height);
                outline = [.. outline.Select(p => new SKPoint(p.X * fit, p.Y * fit))];
                var local = Bounds(outline, size, shape);
                // Place the bounds fully inside the image.
                float x = ((float)rng.NextDouble() * (w - local.Width - 2)) + 1 - local.Left;
                float y = ((float)rng.NextDouble() * (h - local.Height - 2)) + 1 - local.Top;
                var box = SKRect.Create(local.Left + x, local.Top + y, local.Width, local.Height);
                if (objects.Any(o => IoU(o, box) >= Options.MaxIoU))
                {
                    continue;
                }

                var (name, colour) = PickColour(rng, background, objects, shape);
                using var paint = new SKPaint { Color = colour, IsAntialias = true, Style = SKPaintStyle.Fill };
                using var path = BuildPath(shape, outline, size, x, y);
                canvas.DrawPath(path, paint);
                objects.Add(new ShapeObject(name, box.Left, box.Top, box.Right, box.Bottom, colour.Red, colour.Green, colour.Blue));
            }

            canvas.Flush();
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return new ShapeSample(index, w, h, data.ToArray(), objects);
    }

    /// <summary>
    /// Writes an ingest-ready dataset folder (docs/ingest.md): images <c>NNNNN.png</c> (in
    /// <see cref="ShapesFolderOptions.ImageFolder"/> when set), <c>tags.csv</c>
    /// (<c>relative_path,tag</c>, the classes of an image joined by <c>;</c>), and, when
    /// <see cref="ShapesFolderOptions.BoxedCount"/> &gt; 0, a COCO <c>annotations.json</c> with human
    /// boxes for the first BoxedCount images, the first GoldCount of them <c>"split": "val"</c>,
    /// the rest <c>"train"</c>. Returns the ground truth of all images.
    /// </summary>
    public ShapesGroundTruth WriteFolder(string folder, int count, ShapesFolderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        options ??= new ShapesFolderOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.BoxedCount);
        ArgumentOutOfRangeException.ThrowIfNegative(options.GoldCount);
        if (options.GoldCount > options.BoxedCount)
        {
            throw new ArgumentException("GoldCount cannot exceed BoxedCount: gold images need boxes.", nameof(options));
        }

        var prefix = string.IsNullOrEmpty(options.ImageFolder) ? "" : options.ImageFolder.Trim('/') + "/";
        Directory.CreateDirectory(Path.Combine(folder, prefix));
        var images = new List<ShapesGroundTruthImage>(count);
        var csv = new StringBuilder("relative_path,tag\n");
        for (int i = 0; i < count; i++)
        {
            var sample = Generate(i);
            var relative = prefix + i.ToString("D5", CultureInfo.InvariantCulture) + ".png";
            File.WriteAllBytes(Path.Combine(folder, relative), sample.Png);
            csv.Append(CsvField(relative)).Append(',').Append(CsvField(string.Join(';', sample.Tags))).Append('\n');
            string? split = i < options.GoldCount ? "val" : i < options.BoxedCount ? "train" : null;
            images.Add(new ShapesGroundTruthImage(
                relative, sample.Width, sample.Height, split,
                [.. sample.Objects.Select(o => new ShapesGroundTruthObject(o.ClassName, [o.X1, o.Y1, o.X2, o.Y2]))]));
        }

        if (options.WriteTags)
        {
            File.WriteAllText(Path.Combine(folder, "tags.csv"), csv.ToString(), new UTF8Encoding(false));
        }

        if (options.BoxedCount > 0)
        {
            File.WriteAllText(Path.Combine(folder, "annotations.json"), CocoJson(ClassNames, images.Take(options.BoxedCount)), new UTF8Encoding(false));
        }

        var truth = new ShapesGroundTruth(Options.Seed, ClassNames, images);
        if (options.GroundTruthPath is { } truthPath)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(truthPath));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            File.WriteAllText(truthPath, truth.ToJson(), new UTF8Encoding(false));
        }

        return truth;
    }

    /// <summary>A COCO document (the ingest's <c>annotations.json</c>) of <paramref name="images"/>: image ids 1…n in order, category ids 1…m in <paramref name="classNames"/> order.</summary>
    internal static string CocoJson(IReadOnlyList<string> classNames, IEnumerable<ShapesGroundTruthImage> images)
    {
        var categories = classNames.Select((name, i) => new Dictionary<string, object> { ["id"] = i + 1, ["name"] = name }).ToList();
        var categoryIds = classNames.Select((name, i) => (name, i + 1)).ToDictionary(p => p.name, p => p.Item2, StringComparer.Ordinal);
        var cocoImages = new List<Dictionary<string, object>>();
        var annotations = new List<Dictionary<string, object>>();
        int imageId = 0, annotationId = 0;
        foreach (var image in images)
        {
            imageId++;
            cocoImages.Add(new Dictionary<string, object>
            {
                ["id"] = imageId, ["file_name"] = image.Path, ["width"] = image.Width, ["height"] = image.Height, ["split"] = image.Split ?? "train",
            });
            foreach (var o in image.Objects)
            {
                float bw = o.Box[2] - o.Box[0], bh = o.Box[3] - o.Box[1];
                annotations.Add(new Dictionary<string, object>
                {
                    ["id"] = ++annotationId, ["image_id"] = imageId, ["category_id"] = categoryIds[o.ClassName],
                    ["bbox"] = new[] { o.Box[0], o.Box[1], bw, bh }, ["area"] = bw * bh, ["iscrowd"] = 0,
                });
            }
        }

        return JsonSerializer.Serialize(
            new Dictionary<string, object> { ["split"] = "train", ["images"] = cocoImages, ["annotations"] = annotations, ["categories"] = categories },
            JsonOptions);
    }

    internal static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    internal static int HashCode(int seed, int index)
    {
        // SplitMix64 of (seed, index): stable across processes and runtimes (unlike string/HashCode hashing).
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    /// <summary>Fills the bitmap with a two-colour gradient, blotches and per-pixel noise; returns the mean colour.</summary>
    private static (float R, float G, float B) PaintBackground(SKBitmap bitmap, Random rng)
    {
        int w = bitmap.Width, h = bitmap.Height;
        // A muted base colour so that bright and dark shape colours both stand out.
        float br = 70 + rng.Next(110), bg = 70 + rng.Next(110), bb = 70 + rng.Next(110);
        float dr = rng.Next(-25, 26), dg = rng.Next(-25, 26), db = rng.Next(-25, 26);
        float fx = 0.02f + ((float)rng.NextDouble() * 0.08f), fy = 0.02f + ((float)rng.NextDouble() * 0.08f);
        float phase = (float)rng.NextDouble() * 6.28f;
        var pixels = new byte[w * h * 4];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                float t = (x + y) / (float)(w + h);
                float texture = 8f * MathF.Sin((fx * x) + phase) * MathF.Cos(fy * y);
                int o = ((y * w) + x) * 4;
                pixels[o] = Clamp(br + (dr * t) + texture + rng.Next(-BackgroundNoise, BackgroundNoise + 1));
                pixels[o + 1] = Clamp(bg + (dg * t) + texture + rng.Next(-BackgroundNoise, BackgroundNoise + 1));
                pixels[o + 2] = Clamp(bb + (db * t) + texture + rng.Next(-BackgroundNoise, BackgroundNoise + 1));
                pixels[o + 3] = 255;
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        bitmap.NotifyPixelsChanged();
        return (br + (dr / 2), bg + (dg / 2), bb + (db / 2));
    }

    internal static byte Clamp(float v) => (byte)Math.Clamp((int)MathF.Round(v), 0, 255);

    private (string Name, SKColor Colour) PickColour(Random rng, (float R, float G, float B) background, List<ShapeObject> others, string shape)
    {
        for (int attempt = 0; ; attempt++)
        {
            string name;
            byte r, g, b;
            if (Options.ColouredNames)
            {
                var c = NamedColours[rng.Next(NamedColours.Count)];
                (name, r, g, b) = ($"{c.Name} {shape}", c.R, c.G, c.B);
            }
            else
            {
                (name, r, g, b) = (shape, (byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
            }

            bool contrast = Distance(r, g, b, background.R, background.G, background.B) >= MinContrast;
            bool distinct = others.All(o => Distance(r, g, b, o.R, o.G, o.B) >= 60f);
            if ((contrast && distinct) || attempt > 200)
            {
                return (name, new SKColor(r, g, b));
            }
        }
    }

    private static float Distance(float r1, float g1, float b1, float r2, float g2, float b2) =>
        MathF.Sqrt(((r1 - r2) * (r1 - r2)) + ((g1 - g2) * (g1 - g2)) + ((b1 - b2) * (b1 - b2)));

    /// <summary>The polygon of a shape (circle, square, triangle, hexagon, star) centred on (0, 0), rotated by <paramref name="degrees"/>; empty for a circle.</summary>
    internal static SKPoint[] Outline(string shape, float size, float degrees)
    {
        float r = size / 2;
        SKPoint[] points = shape switch
        {
            "circle" => [],
            "square" => [new(-r, -r), new(r, -r), new(r, r), new(-r, r)],
            "triangle" => [new(0, -r), new(r, r * 0.75f), new(-r, r * 0.75f)],
            "hexagon" => [.. Enumerable.Range(0, 6).Select(i => new SKPoint(r * MathF.Cos(i * MathF.PI / 3), r * MathF.Sin(i * MathF.PI / 3)))],
            _ => [.. Enumerable.Range(0, 10).Select(i =>
            {
                // Star: five points, inner radius 0.45.
                float radius = i % 2 == 0 ? r : r * 0.45f;
                float angle = (-MathF.PI / 2) + (i * MathF.PI / 5);
                return new SKPoint(radius * MathF.Cos(angle), radius * MathF.Sin(angle));
            })],
        };
        float a = degrees * MathF.PI / 180f, cos = MathF.Cos(a), sin = MathF.Sin(a);
        return [.. points.Select(p => new SKPoint((p.X * cos) - (p.Y * sin), (p.X * sin) + (p.Y * cos)))];
    }

    internal static SKRect Bounds(SKPoint[] outline, float size, string shape) => shape == "circle"
        ? new SKRect(-size / 2, -size / 2, size / 2, size / 2)
        : new SKRect(outline.Min(p => p.X), outline.Min(p => p.Y), outline.Max(p => p.X), outline.Max(p => p.Y));

    internal static SKPath BuildPath(string shape, SKPoint[] outline, float size, float x, float y)
    {
        using var builder = new SKPathBuilder();
        if (shape == "circle")
        {
            builder.AddOval(new SKRect(x - (size / 2), y - (size / 2), x + (size / 2), y + (size / 2)), SKPathDirection.Clockwise);
        }
        else
        {
            builder.MoveTo(outline[0].X + x, outline[0].Y + y);
            foreach (var p in outline.Skip(1))
            {
                builder.LineTo(p.X + x, p.Y + y);
            }

            builder.Close();
        }

        return builder.Detach();
    }

    internal static float IoU(ShapeObject a, SKRect b)
    {
        float iw = Math.Min(a.X2, b.Right) - Math.Max(a.X1, b.Left);
        float ih = Math.Min(a.Y2, b.Bottom) - Math.Max(a.Y1, b.Top);
        if (iw <= 0 || ih <= 0)
        {
            return 0f;
        }

        float inter = iw * ih;
        return inter / (((a.X2 - a.X1) * (a.Y2 - a.Y1)) + (b.Width * b.Height) - inter);
    }
}
