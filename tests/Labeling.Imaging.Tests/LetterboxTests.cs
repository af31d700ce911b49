namespace Labeling.Imaging.Tests;

public class LetterboxTests
{
    private static readonly float[] NoMean = [0f, 0f, 0f];
    private static readonly float[] NoStd = [1f, 1f, 1f];

    private static DecodedImage Solid(int width, int height, byte r, byte g, byte b)
    {
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.Length; i += 3)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        }

        return new DecodedImage(width, height, width, height, "test", pixels);
    }

    [Fact]
    public void Fill_640x480Into512Square_ScalesByPoint8AndPadsTopAndBottom()
    {
        var destination = new float[3 * 512 * 512];

        var t = Letterbox.Fill(Solid(640, 480, 0, 0, 0), 512, 512, NoMean, NoStd, destination);

        Assert.Equal(new LetterboxTransform(0.8f, 0f, 64f, 640, 480), t);
    }

    [Theory]
    [InlineData(480, 640, 512, 512, 0.8f, 64f, 0f)]
    [InlineData(1000, 1000, 640, 480, 0.48f, 80f, 0f)]
    [InlineData(451, 300, 640, 640, 640f / 451, 0f, 107f)] // 300·1.419 = 425.7 → 426 rows; (640 − 426) / 2 = 107
    [InlineData(100, 50, 100, 50, 1f, 0f, 0f)]
    public void ComputeTransform_KnownSizes(int w, int h, int inW, int inH, float scale, float padX, float padY)
    {
        var t = Letterbox.ComputeTransform(w, h, inW, inH);

        Assert.Equal(scale, t.Scale, 5);
        Assert.Equal((padX, padY, w, h), (t.PadX, t.PadY, t.OriginalWidth, t.OriginalHeight));
    }

    [Fact]
    public void ToOriginal_RoundTripsPointsAndClampsOutside()
    {
        var t = Letterbox.ComputeTransform(640, 480, 512, 512);

        foreach (var (x, y) in new[] { (0f, 0f), (320f, 240f), (639.5f, 479.5f), (17.25f, 401f), (640f, 480f) })
        {
            var (ix, iy) = t.ToInput(x, y);
            var (ox, oy) = t.ToOriginal(ix, iy);
            Assert.Equal(x, ox, 3);
            Assert.Equal(y, oy, 3);
        }

        Assert.Equal((0f, 0f), t.ToOriginal(0, 0));           // in the top padding
        Assert.Equal((640f, 480f), t.ToOriginal(512, 512));   // in the bottom padding
        Assert.Equal((250f, 0f), t.ToOriginal(200, 10));      // x = 200 / 0.8; y clamped
        Assert.Equal((125f, 100f), t.ToOriginal(100, 144));   // y = (144 − 64) / 0.8
    }

    [Fact]
    public void Fill_PaddingAndContent_AreNormalisedWithMeanAndStd()
    {
        float[] mean = [0.485f, 0.456f, 0.406f];
        float[] std = [0.229f, 0.224f, 0.225f];
        var destination = new float[3 * 64 * 64];
        int plane = 64 * 64;

        Letterbox.Fill(Solid(64, 32, 200, 100, 50), 64, 64, mean, std, destination, padValue: 0);

        byte[] content = [200, 100, 50];
        for (int c = 0; c < 3; c++)
        {
            float pad = (0f - mean[c]) / std[c];
            float inside = ((content[c] / 255f) - mean[c]) / std[c];
            Assert.Equal(pad, destination[(c * plane) + (5 * 64) + 10], 4);        // row 5: top padding (pad 16)
            Assert.Equal(pad, destination[(c * plane) + (60 * 64) + 10], 4);       // row 60: bottom padding
            Assert.Equal(inside, destination[(c * plane) + (16 * 64)], 4);         // first content row
            Assert.Equal(inside, destination[(c * plane) + (47 * 64) + 63], 4);    // last content row, last column
        }
    }

    [Fact]
    public void Fill_DefaultPadValue_Is114OverStd()
    {
        var destination = new float[3 * 8 * 8];

        Letterbox.Fill(Solid(8, 4, 255, 255, 255), 8, 8, NoMean, NoStd, destination);

        Assert.Equal(114f / 255f, destination[0], 5);
        Assert.Equal(1f, destination[2 * 8], 5);
    }

    [Fact]
    public void Fill_ChannelsArePlanarRgb()
    {
        var destination = new float[3 * 4 * 4];

        Letterbox.Fill(Solid(4, 4, 255, 0, 51), 4, 4, NoMean, NoStd, destination);

        Assert.All(destination[..16], v => Assert.Equal(1f, v, 5));
        Assert.All(destination[16..32], v => Assert.Equal(0f, v, 5));
        Assert.All(destination[32..], v => Assert.Equal(0.2f, v, 5));
    }

    [Fact]
    public void Fill_Upscale_InterpolatesBilinearlyBetweenPixelCentres()
    {
        // 2×1 image, black then white, into 4×2: centres at 0.25 and 0.75 of each source pixel.
        var image = new DecodedImage(2, 1, 2, 1, "test", new byte[] { 0, 0, 0, 255, 255, 255 });
        var destination = new float[3 * 4 * 2];

        var t = Letterbox.Fill(image, 4, 2, NoMean, NoStd, destination);

        Assert.Equal(new LetterboxTransform(2f, 0f, 0f, 2, 1), t);
        // x = (i + 0.5) / 2 − 0.5 → −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
        float[] expected = [0f, 0.25f, 0.75f, 1f];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i], destination[i], 5);
            Assert.Equal(expected[i], destination[4 + i], 5); // second row reads the same source row
        }
    }

    [Fact]
    public void Fill_ReducedScaleDecode_GivesSameTransformToOriginalAndSimilarInput()
    {
        var jpeg = TestImages.GradientJpeg1024x768;
        var full = TestImages.DecodeOk(jpeg);
        var reduced = TestImages.DecodeOk(jpeg, new ImageDecodeOptions { TargetLongSide = 512 });
        Assert.Equal((512, 384), (reduced.Width, reduced.Height));
        var a = new float[3 * 512 * 512];
        var b = new float[3 * 512 * 512];

        var ta = Letterbox.Fill(full, 512, 512, NoMean, NoStd, a);
        var tb = Letterbox.Fill(reduced, 512, 512, NoMean, NoStd, b);

        Assert.Equal(ta, tb);
        Assert.Equal(new LetterboxTransform(0.5f, 0f, 64f, 1024, 768), tb);
        Assert.Equal((1024f, 768f), tb.ToOriginal(512, 448));
        double meanAbs = a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        Assert.True(meanAbs < 0.02, $"full and reduced-scale inputs differ by {meanAbs:F4} on average");
        Assert.Equal(114f / 255f, b[10], 5); // top padding
    }

    [Fact]
    public void Fill_TooShortDestinationOrBadStatistics_Throw()
    {
        var image = Solid(4, 4, 1, 2, 3);

        Assert.Throws<ArgumentException>(() => Letterbox.Fill(image, 4, 4, NoMean, NoStd, new float[47]));
        Assert.Throws<ArgumentException>(() => Letterbox.Fill(image, 4, 4, [0f, 0f], NoStd, new float[48]));
        Assert.Throws<ArgumentException>(() => Letterbox.Fill(image, 4, 4, NoMean, [1f, 0f, 1f], new float[48]));
    }
}
