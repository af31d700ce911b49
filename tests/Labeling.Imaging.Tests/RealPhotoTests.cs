namespace Labeling.Imaging.Tests;

public class RealPhotoTests
{
    [Theory]
    [InlineData("astronaut.png", "png", 512, 512)]
    [InlineData("chelsea.png", "png", 451, 300)]
    [InlineData("coffee.png", "png", 600, 400)]
    [InlineData("motorcycle_left.png", "png", 741, 500)]
    [InlineData("rocket.jpg", "jpeg", 640, 427)]
    public void Decode_Photo_HasHeaderDimensionsAndPlausiblePixels(string name, string format, int width, int height)
    {
        var data = TestImages.Photo(name);

        var (header, failure) = ImageDecoder.ReadHeader(data);
        var image = TestImages.DecodeOk(data);

        Assert.Null(failure);
        Assert.Equal(new ImageHeader(format, width, height, 1, false, 1), header);
        Assert.Equal((width, height, width, height, format), (image.Width, image.Height, image.OriginalWidth, image.OriginalHeight, image.Format));
        Assert.Equal(width * height * 3, image.Pixels.Length);

        // A photograph: neither blank nor saturated, with real contrast in every channel.
        var p = image.Pixels.Span;
        for (int c = 0; c < 3; c++)
        {
            double sum = 0, sumSq = 0;
            for (int i = c; i < p.Length; i += 3)
            {
                sum += p[i];
                sumSq += p[i] * (double)p[i];
            }

            double n = p.Length / 3.0, mean = sum / n, sd = Math.Sqrt((sumSq / n) - (mean * mean));
            Assert.InRange(mean, 20, 235);
            Assert.True(sd > 15, $"channel {c} of {name} has standard deviation {sd:F1}");
        }
    }

    // Reference values read from the PNG data by an independent decoder (inflate + unfilter, no colour management).
    // astronaut and chelsea carry an iCCP profile that is converted to sRGB, hence the tolerance.
    [Theory]
    [InlineData("coffee.png", 0, 0, 21, 13, 8)]
    [InlineData("coffee.png", 599, 0, 228, 184, 140)]
    [InlineData("coffee.png", 300, 200, 248, 250, 255)]
    [InlineData("coffee.png", 150, 300, 141, 24, 8)]
    [InlineData("motorcycle_left.png", 0, 0, 127, 79, 53)]
    [InlineData("motorcycle_left.png", 370, 250, 103, 92, 82)]
    [InlineData("motorcycle_left.png", 740, 499, 164, 142, 134)]
    [InlineData("astronaut.png", 128, 384, 210, 81, 52)]
    [InlineData("astronaut.png", 511, 511, 0, 0, 0)]
    [InlineData("chelsea.png", 225, 150, 190, 150, 124)]
    [InlineData("chelsea.png", 450, 0, 45, 27, 13)]
    public void Decode_Png_MatchesReferencePixels(string name, int x, int y, int r, int g, int b)
    {
        var image = TestImages.DecodeOk(TestImages.Photo(name));

        TestImages.AssertColor((r, g, b), TestImages.PixelAt(image, x, y), tolerance: 4, $"{name} ({x},{y})");
    }

    [Fact]
    public void Decode_JpegPhoto_ReducedScaleLooksLikeFullScaleDownsampled()
    {
        var data = TestImages.Photo("rocket.jpg");
        var full = TestImages.DecodeOk(data);

        var half = TestImages.DecodeOk(data, new ImageDecodeOptions { TargetLongSide = 320 });

        Assert.Equal((320, 214, 640, 427), (half.Width, half.Height, half.OriginalWidth, half.OriginalHeight));
        double totalDiff = 0;
        for (int y = 0; y < half.Height - 1; y++)
        {
            for (int x = 0; x < half.Width; x++)
            {
                var h = TestImages.PixelAt(half, x, y);
                var f = TestImages.PixelAt(full, 2 * x, 2 * y);
                var f2 = TestImages.PixelAt(full, (2 * x) + 1, (2 * y) + 1);
                totalDiff += Math.Abs(h.G - ((f.G + f2.G) / 2.0));
            }
        }

        double meanDiff = totalDiff / ((half.Height - 1) * half.Width);
        Assert.True(meanDiff < 8, $"half-scale decode differs from the full decode by {meanDiff:F2} grey levels on average");
    }

    [Fact]
    public void Decode_PixelLimitBelowPhotoSize_IsRefusedAsTooManyPixels()
    {
        var result = ImageDecoder.Decode(TestImages.Photo("coffee.png"), new ImageDecodeOptions { MaxPixels = 200_000 });

        Assert.False(result.Success);
        Assert.Equal(DecodeFailureReason.TooManyPixels, result.Failure);
        Assert.Contains("600x400", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ManyThreadsAtOnce_GiveIdenticalPixels()
    {
        var data = TestImages.Photo("rocket.jpg");
        var reference = TestImages.DecodeOk(data).Pixels.ToArray();

        var results = new byte[16][];
        Parallel.For(0, results.Length, i => results[i] = TestImages.DecodeOk(data).Pixels.ToArray());

        Assert.All(results, r => Assert.Equal(reference, r));
    }
}
