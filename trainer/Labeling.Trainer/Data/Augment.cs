using Labeling.Imaging;

namespace Labeling.Trainer.Data;

/// <summary>Options of <see cref="Augment"/>. The defaults are the training defaults; <see cref="None"/> turns every random change off.</summary>
public sealed record AugmentOptions
{
    /// <summary>Side of the square model input (default 512, the exported detector's input).</summary>
    public int InputSize { get; init; } = 512;

    /// <summary>Per-channel mean applied to pixel / 255 (default ImageNet's, as the exported models say in <c>labeling.mean</c>).</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel std applied to pixel / 255 (default ImageNet's).</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Letterbox padding value (default 114, the workers').</summary>
    public byte PadValue { get; init; } = 114;

    /// <summary>Probability of a horizontal flip (default 0.5).</summary>
    public float FlipProbability { get; init; } = 0.5f;

    /// <summary>Smallest scale jitter factor (default 0.75): the image appears this much smaller than its letterbox fit.</summary>
    public float ScaleMin { get; init; } = 0.75f;

    /// <summary>Largest scale jitter factor (default 1.25): above 1 the image is cropped at a random place.</summary>
    public float ScaleMax { get; init; } = 1.25f;

    /// <summary>Brightness factor drawn from 1 ± this (default 0.2).</summary>
    public float Brightness { get; init; } = 0.2f;

    /// <summary>Contrast factor drawn from 1 ± this (default 0.2).</summary>
    public float Contrast { get; init; } = 0.2f;

    /// <summary>Saturation factor drawn from 1 ± this (default 0.2).</summary>
    public float Saturation { get; init; } = 0.2f;

    /// <summary>Boxes narrower or lower than this many input pixels after augmentation are dropped (default 2).</summary>
    public float MinBoxSize { get; init; } = 2f;

    /// <summary>Boxes of which less than this fraction of the area is left after cropping are dropped (default 0.25).</summary>
    public float MinVisibleFraction { get; init; } = 0.25f;

    /// <summary>The workers' preprocessing only: no flip, no jitter.</summary>
    public static AugmentOptions None(int inputSize = 512) => new()
    {
        InputSize = inputSize, FlipProbability = 0, ScaleMin = 1, ScaleMax = 1, Brightness = 0, Contrast = 0, Saturation = 0,
    };

    /// <summary>Throws <see cref="ArgumentException"/> for inconsistent values.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(InputSize, 8);
        if (Mean.Count != 3 || Std.Count != 3 || Std.Any(s => s == 0))
        {
            throw new ArgumentException("Mean and Std need three values each, Std non-zero.");
        }

        if (FlipProbability is < 0 or > 1 || ScaleMin <= 0 || ScaleMax < ScaleMin || Brightness is < 0 or >= 1 || Contrast is < 0 or >= 1 || Saturation is < 0 or >= 1)
        {
            throw new ArgumentException("FlipProbability must be in [0, 1], 0 < ScaleMin ≤ ScaleMax, jitters in [0, 1).");
        }
    }
}

/// <summary>
/// Seeded training augmentation: horizontal flip, scale jitter (a random window of the image — a crop
/// when zooming in, grey padding when zooming out — then letterboxed), colour jitter (brightness,
/// contrast, saturation). The final resize and normalisation is <see cref="Letterbox.Fill"/>, the
/// workers' own preprocessing; with <see cref="AugmentOptions.None"/> the output equals what a worker
/// feeds the detector, bit for bit.
/// </summary>
public sealed class Augment
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Creates the augmentation.</summary>
    public Augment(AugmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _mean = [.. options.Mean];
        _std = [.. options.Std];
    }

    /// <summary>The options.</summary>
    public AugmentOptions Options { get; }

    /// <summary>Augments <paramref name="sample"/> with random choices from <paramref name="rng"/> (the same rng state gives the same output).</summary>
    public PreparedSample Apply(TrainingSample sample, Random rng)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(rng);
        // Every draw happens whether or not its option is on, so that the random stream does not depend on the options.
        bool flip = rng.NextDouble() < Options.FlipProbability;
        float scale = Options.ScaleMin + ((float)rng.NextDouble() * (Options.ScaleMax - Options.ScaleMin));
        double placeX = rng.NextDouble(), placeY = rng.NextDouble();
        float brightness = 1 + (Options.Brightness * (float)((rng.NextDouble() * 2) - 1));
        float contrast = 1 + (Options.Contrast * (float)((rng.NextDouble() * 2) - 1));
        float saturation = 1 + (Options.Saturation * (float)((rng.NextDouble() * 2) - 1));

        if (flip)
        {
            sample = FlipHorizontal(sample);
        }

        var image = sample.Image;
        bool colour = brightness != 1 || contrast != 1 || saturation != 1;
        int size = Options.InputSize;
        var chw = new float[3 * size * size];
        if (!colour && scale == 1f)
        {
            // The workers' path exactly: the decoded image straight into the letterbox.
            var transform = Letterbox.Fill(image, size, size, _mean, _std, chw, Options.PadValue);
            return Finish(sample, chw, transform, sample.Boxes, 0, 0, image.OriginalWidth, image.OriginalHeight, 1f);
        }

        // Work in decoded pixels (equal to original pixels unless decoded at a reduced scale).
        float toDecoded = image.Width / (float)image.OriginalWidth;
        var pixels = colour ? ColourJitter(image.Pixels.Span, brightness, contrast, saturation) : image.Pixels;
        int w = image.Width, h = image.Height;
        int windowWidth = Math.Max(1, (int)MathF.Round(w / scale));
        int windowHeight = Math.Max(1, (int)MathF.Round(h / scale));
        // Window origin in image pixels: inside the image when cropping, negative (image placed inside) when padding.
        int offsetX = windowWidth <= w ? (int)(placeX * (w - windowWidth + 1)) : -(int)(placeX * (windowWidth - w + 1));
        int offsetY = windowHeight <= h ? (int)(placeY * (h - windowHeight + 1)) : -(int)(placeY * (windowHeight - h + 1));
        var window = Window(pixels.Span, w, h, offsetX, offsetY, windowWidth, windowHeight, Options.PadValue);
        var windowTransform = Letterbox.Fill(window, size, size, _mean, _std, chw, Options.PadValue);
        return Finish(sample, chw, windowTransform, sample.Boxes, offsetX, offsetY, windowWidth, windowHeight, toDecoded);
    }

    /// <summary>The workers' preprocessing of <paramref name="sample"/>, without any augmentation.</summary>
    public static PreparedSample Prepare(TrainingSample sample, AugmentOptions options) =>
        new Augment(options with { FlipProbability = 0, ScaleMin = 1, ScaleMax = 1, Brightness = 0, Contrast = 0, Saturation = 0 }).Apply(sample, new Random(0));

    /// <summary>The sample mirrored left–right: pixels and boxes (x → OriginalWidth − x). Flipping twice gives the original.</summary>
    public static TrainingSample FlipHorizontal(TrainingSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var image = sample.Image;
        int w = image.Width, h = image.Height;
        var source = image.Pixels.Span;
        var flipped = new byte[source.Length];
        for (int y = 0; y < h; y++)
        {
            int row = y * w * 3;
            for (int x = 0; x < w; x++)
            {
                int s = row + (x * 3), d = row + ((w - 1 - x) * 3);
                flipped[d] = source[s];
                flipped[d + 1] = source[s + 1];
                flipped[d + 2] = source[s + 2];
            }
        }

        float ow = image.OriginalWidth;
        return sample with
        {
            Image = new DecodedImage(w, h, image.OriginalWidth, image.OriginalHeight, image.Format, flipped),
            Boxes = [.. sample.Boxes.Select(b => b with { X1 = ow - b.X2, X2 = ow - b.X1 })],
        };
    }

    private PreparedSample Finish(
        TrainingSample sample, float[] chw, LetterboxTransform transform, IReadOnlyList<TrainingBox> boxes,
        int offsetX, int offsetY, int windowWidth, int windowHeight, float toWindowScale)
    {
        var kept = new List<TrainingBox>(boxes.Count);
        int size = Options.InputSize;
        foreach (var box in boxes)
        {
            // Original pixels → window pixels, clipped to the window.
            float x1 = (box.X1 * toWindowScale) - offsetX, y1 = (box.Y1 * toWindowScale) - offsetY;
            float x2 = (box.X2 * toWindowScale) - offsetX, y2 = (box.Y2 * toWindowScale) - offsetY;
            float area = (x2 - x1) * (y2 - y1);
            x1 = Math.Clamp(x1, 0, windowWidth);
            x2 = Math.Clamp(x2, 0, windowWidth);
            y1 = Math.Clamp(y1, 0, windowHeight);
            y2 = Math.Clamp(y2, 0, windowHeight);
            if (area <= 0 || (x2 - x1) * (y2 - y1) < Options.MinVisibleFraction * area)
            {
                continue;
            }

            var (ix1, iy1) = transform.ToInput(x1, y1);
            var (ix2, iy2) = transform.ToInput(x2, y2);
            ix1 = Math.Clamp(ix1, 0, size);
            ix2 = Math.Clamp(ix2, 0, size);
            iy1 = Math.Clamp(iy1, 0, size);
            iy2 = Math.Clamp(iy2, 0, size);
            if (ix2 - ix1 >= Options.MinBoxSize && iy2 - iy1 >= Options.MinBoxSize)
            {
                kept.Add(new TrainingBox(ix1, iy1, ix2, iy2, box.ClassName));
            }
        }

        return new PreparedSample(sample.Id, chw, size, kept, sample.Tags, sample.Kind);
    }

    private static byte[] ColourJitter(ReadOnlySpan<byte> rgb, float brightness, float contrast, float saturation)
    {
        // Mean luminance (after brightness) is the contrast pivot, as torchvision's adjust_contrast.
        double sum = 0;
        for (int i = 0; i < rgb.Length; i += 3)
        {
            sum += (0.299 * rgb[i]) + (0.587 * rgb[i + 1]) + (0.114 * rgb[i + 2]);
        }

        float pivot = (float)(sum / Math.Max(1, rgb.Length / 3)) * brightness;
        var result = new byte[rgb.Length];
        for (int i = 0; i < rgb.Length; i += 3)
        {
            float r = ((rgb[i] * brightness) - pivot) * contrast + pivot;
            float g = ((rgb[i + 1] * brightness) - pivot) * contrast + pivot;
            float b = ((rgb[i + 2] * brightness) - pivot) * contrast + pivot;
            float grey = (0.299f * r) + (0.587f * g) + (0.114f * b);
            result[i] = ToByte(grey + ((r - grey) * saturation));
            result[i + 1] = ToByte(grey + ((g - grey) * saturation));
            result[i + 2] = ToByte(grey + ((b - grey) * saturation));
        }

        return result;
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v), 0, 255);

    /// <summary>The <paramref name="windowWidth"/> × <paramref name="windowHeight"/> window at (offsetX, offsetY) of an image; outside the image is <paramref name="pad"/> grey.</summary>
    private static DecodedImage Window(ReadOnlySpan<byte> rgb, int w, int h, int offsetX, int offsetY, int windowWidth, int windowHeight, byte pad)
    {
        var result = new byte[windowWidth * windowHeight * 3];
        if (offsetX < 0 || offsetY < 0 || offsetX + windowWidth > w || offsetY + windowHeight > h)
        {
            result.AsSpan().Fill(pad);
        }

        int x0 = Math.Max(0, offsetX), x1 = Math.Min(w, offsetX + windowWidth);
        int y0 = Math.Max(0, offsetY), y1 = Math.Min(h, offsetY + windowHeight);
        for (int y = y0; y < y1; y++)
        {
            rgb.Slice(((y * w) + x0) * 3, (x1 - x0) * 3).CopyTo(result.AsSpan((((y - offsetY) * windowWidth) + (x0 - offsetX)) * 3));
        }

        return new DecodedImage(windowWidth, windowHeight, windowWidth, windowHeight, "rgb", result);
    }
}
