using Labeling.Imaging;
using Labeling.Trainer.Data;

namespace Labeling.Trainer.Tests.Data;

public sealed class AugmentTests
{
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    private static (TrainingSample Sample, ShapeSample Shapes) Sample(int index, int width = 256, int height = 256, float maxIoU = 0.3f)
    {
        var shapes = new ShapesWorld(new ShapesWorldOptions { Seed = 21, Width = width, Height = height, MaxIoU = maxIoU }).Generate(index);
        var image = ImageDecoder.Decode(shapes.Png, new ImageDecodeOptions()).Image!;
        var boxes = shapes.Objects.Select(o => new TrainingBox(o.X1, o.Y1, o.X2, o.Y2, o.ClassName)).ToArray();
        return (new TrainingSample($"shapes/{index}", image, boxes, shapes.Tags, SampleKind.BoxData), shapes);
    }

    [Fact]
    public void FlipHorizontal_Twice_IsIdentity()
    {
        var (sample, _) = Sample(0, 200, 150);
        var once = Augment.FlipHorizontal(sample);
        Assert.NotEqual(sample.Boxes, once.Boxes);
        Assert.Equal(200 - sample.Boxes[0].X2, once.Boxes[0].X1, 4);
        var twice = Augment.FlipHorizontal(once);
        // Equal up to float rounding of w − (w − x).
        Assert.Equal(sample.Boxes.Count, twice.Boxes.Count);
        for (int k = 0; k < sample.Boxes.Count; k++)
        {
            Assert.Equal(sample.Boxes[k].X1, twice.Boxes[k].X1, 4);
            Assert.Equal(sample.Boxes[k].X2, twice.Boxes[k].X2, 4);
            Assert.Equal((sample.Boxes[k].Y1, sample.Boxes[k].Y2, sample.Boxes[k].ClassName), (twice.Boxes[k].Y1, twice.Boxes[k].Y2, twice.Boxes[k].ClassName));
        }

        Assert.Equal(sample.Image.Pixels.ToArray(), twice.Image.Pixels.ToArray());
    }

    [Fact]
    public void Prepare_WithoutAugmentation_EqualsWorkerLetterbox()
    {
        var (sample, _) = Sample(1, 300, 200);
        var prepared = Augment.Prepare(sample, new AugmentOptions { InputSize = 128 });
        var expected = new float[3 * 128 * 128];
        var transform = Letterbox.Fill(sample.Image, 128, 128, Mean, Std, expected);
        Assert.Equal(expected, prepared.Chw);
        var (x1, y1) = transform.ToInput(sample.Boxes[0].X1, sample.Boxes[0].Y1);
        Assert.Equal(x1, prepared.Boxes[0].X1, 4);
        Assert.Equal(y1, prepared.Boxes[0].Y1, 4);
    }

    [Fact]
    public void Apply_SameSeed_SameOutput()
    {
        var (sample, _) = Sample(2);
        var augment = new Augment(new AugmentOptions { InputSize = 96 });
        var a = augment.Apply(sample, new Random(5));
        var b = augment.Apply(sample, new Random(5));
        Assert.Equal(a.Chw, b.Chw);
        Assert.Equal(a.Boxes, b.Boxes);
    }

    [Fact]
    public void Apply_BoxesStayInsideTheInput_AndTinyBoxesAreDropped()
    {
        var augment = new Augment(new AugmentOptions { InputSize = 64, ScaleMin = 0.5f, ScaleMax = 2f, MinBoxSize = 4 });
        var rng = new Random(9);
        int dropped = 0;
        for (int i = 0; i < 30; i++)
        {
            var (sample, _) = Sample(i);
            var prepared = augment.Apply(sample, rng);
            Assert.Equal(3 * 64 * 64, prepared.Chw.Length);
            Assert.All(prepared.Boxes, b =>
            {
                Assert.InRange(b.X1, 0f, 64f);
                Assert.InRange(b.Y1, 0f, 64f);
                Assert.InRange(b.X2, b.X1 + 4, 64f);
                Assert.InRange(b.Y2, b.Y1 + 4, 64f);
            });
            dropped += sample.Boxes.Count - prepared.Boxes.Count;
        }

        Assert.True(dropped > 0, "at 64 px with 2x zoom some boxes are cropped away or tiny");
    }

    [Fact]
    public void Apply_BoxesStayOverTheirShapes_AfterFlipScaleAndCrop()
    {
        // Colour jitter off so the shape colour can be compared; flip and scale jitter (crop and pad) on.
        var augment = new Augment(new AugmentOptions { InputSize = 160, FlipProbability = 0.5f, Brightness = 0, Contrast = 0, Saturation = 0 });
        var rng = new Random(4);
        int checkedBoxes = 0;
        for (int i = 0; i < 25; i++)
        {
            // Boxes that do not touch, so no shape covers another's centre.
            var (sample, shapes) = Sample(i, 256, 192, maxIoU: 1e-6f);
            var prepared = augment.Apply(sample, rng);
            foreach (var box in prepared.Boxes)
            {
                // Skip small boxes and boxes cut by the crop (the centre of a cut box need not be on the shape).
                if (box.Width < 12 || box.Height < 12 || box.X1 < 1 || box.Y1 < 1 || box.X2 > 159 || box.Y2 > 159)
                {
                    continue;
                }

                // The pixel at the box centre (inside every shape of this world) has the colour of a shape of that class.
                var (r, g, b) = Pixel(prepared, (box.X1 + box.X2) / 2, (box.Y1 + box.Y2) / 2);
                Assert.Contains(shapes.Objects, o => o.ClassName == box.ClassName && Math.Abs(o.R - r) + Math.Abs(o.G - g) + Math.Abs(o.B - b) < 30);
                checkedBoxes++;
            }
        }

        Assert.True(checkedBoxes > 20);
    }

    [Fact]
    public void Apply_ColourJitter_ChangesPixelsNotBoxes()
    {
        var (sample, _) = Sample(3);
        var plain = Augment.Prepare(sample, new AugmentOptions { InputSize = 96 });
        var jittered = new Augment(AugmentOptions.None(96) with { Brightness = 0.3f, Contrast = 0.3f, Saturation = 0.3f }).Apply(sample, new Random(1));
        Assert.NotEqual(plain.Chw, jittered.Chw);
        Assert.Equal(plain.Boxes.Count, jittered.Boxes.Count);
        for (int k = 0; k < plain.Boxes.Count; k++)
        {
            Assert.Equal(plain.Boxes[k].X1, jittered.Boxes[k].X1, 3);
            Assert.Equal(plain.Boxes[k].Y2, jittered.Boxes[k].Y2, 3);
        }
    }

    private static (float R, float G, float B) Pixel(PreparedSample sample, float x, float y)
    {
        int s = sample.InputSize, plane = s * s;
        int i = ((int)y * s) + (int)x;
        return (
            ((sample.Chw[i] * Std[0]) + Mean[0]) * 255,
            ((sample.Chw[plane + i] * Std[1]) + Mean[1]) * 255,
            ((sample.Chw[(2 * plane) + i] * Std[2]) + Mean[2]) * 255);
    }
}
