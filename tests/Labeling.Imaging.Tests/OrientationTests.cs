using SkiaSharp;

namespace Labeling.Imaging.Tests;

public class OrientationTests
{
    // Stored image 64×32: a red 16×16 tile in the stored top-left corner, a blue one in the stored top-right.
    private static readonly byte[] Stored = TestImages.Encode(64, 32, (x, y) =>
        y < 16 && x < 16 ? new SKColor(255, 0, 0)
        : y < 16 && x >= 48 ? new SKColor(0, 0, 255)
        : new SKColor(128, 128, 128), SKEncodedImageFormat.Jpeg, 95);

    // Where the stored top-left (red) and top-right (blue) corners are displayed, per the EXIF 2.3 definition
    // of each value ("row 0 is the visual …, column 0 is the visual …").
    [Theory]
    [InlineData(1, "TL", "TR")]
    [InlineData(2, "TR", "TL")]
    [InlineData(3, "BR", "BL")]
    [InlineData(4, "BL", "BR")]
    [InlineData(5, "TL", "BL")]
    [InlineData(6, "TR", "BR")]
    [InlineData(7, "BR", "TR")]
    [InlineData(8, "BL", "TL")]
    public void Decode_ExifOrientation_IsApplied(int orientation, string red, string blue)
    {
        var jpeg = TestImages.WithExifOrientation(Stored, orientation);

        var (header, _) = ImageDecoder.ReadHeader(jpeg);
        var image = TestImages.DecodeOk(jpeg);

        bool turned = orientation >= 5;
        var (w, h) = turned ? (32, 64) : (64, 32);
        Assert.Equal(orientation, header!.Orientation);
        Assert.Equal((w, h), (header.Width, header.Height));
        Assert.Equal((w, h, w, h), (image.Width, image.Height, image.OriginalWidth, image.OriginalHeight));
        var corners = new Dictionary<string, (int X, int Y)> { ["TL"] = (8, 8), ["TR"] = (w - 9, 8), ["BL"] = (8, h - 9), ["BR"] = (w - 9, h - 9) };
        foreach (var (name, (x, y)) in corners)
        {
            var expected = name == red ? (255, 0, 0) : name == blue ? (0, 0, 255) : (128, 128, 128);
            TestImages.AssertColor(expected, TestImages.PixelAt(image, x, y), 40, $"orientation {orientation}, corner {name}");
        }
    }

    [Fact]
    public void Decode_RotatedJpegAtReducedScale_SwapsBothSizes()
    {
        var jpeg = TestImages.WithExifOrientation(TestImages.GradientJpeg1024x768, 6);

        var image = TestImages.DecodeOk(jpeg, new ImageDecodeOptions { TargetLongSide = 256 });

        Assert.Equal((192, 256, 768, 1024), (image.Width, image.Height, image.OriginalWidth, image.OriginalHeight));
    }
}
