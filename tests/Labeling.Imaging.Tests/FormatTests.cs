using SkiaSharp;

namespace Labeling.Imaging.Tests;

public class FormatTests
{
    private static readonly byte[] Palette4 = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]; // red, green, blue, white

    [Fact]
    public void Decode_SixteenBitRgbPng_ScalesToEightBits()
    {
        static byte[] Px(ushort r, ushort g, ushort b) => [(byte)(r >> 8), (byte)r, (byte)(g >> 8), (byte)g, (byte)(b >> 8), (byte)b];
        byte[][] rows =
        [
            [.. Px(0xFFFF, 0, 0), .. Px(0, 0x8080, 0), .. Px(0, 0, 0x4040)],
            [.. Px(0x2020, 0x2020, 0x2020), .. Px(0xC0C0, 0x1010, 0xF0F0), .. Px(0, 0, 0)],
        ];
        var png = TestImages.Png(3, 2, 16, 2, rows);

        var image = TestImages.DecodeOk(png);

        Assert.Equal((3, 2), (image.Width, image.Height));
        TestImages.AssertColor((255, 0, 0), TestImages.PixelAt(image, 0, 0), 1);
        TestImages.AssertColor((0, 128, 0), TestImages.PixelAt(image, 1, 0), 1);
        TestImages.AssertColor((0, 0, 64), TestImages.PixelAt(image, 2, 0), 1);
        TestImages.AssertColor((32, 32, 32), TestImages.PixelAt(image, 0, 1), 1);
        TestImages.AssertColor((192, 16, 240), TestImages.PixelAt(image, 1, 1), 1);
    }

    [Fact]
    public void Decode_GreyPng_RepeatsGreyInEveryChannel()
    {
        var png = TestImages.Png(3, 1, 8, 0, [[0, 100, 255]]);

        var image = TestImages.DecodeOk(png);

        Assert.Equal([0, 0, 0, 100, 100, 100, 255, 255, 255], image.Pixels.ToArray());
    }

    [Fact]
    public void Decode_PalettePngWithTransparentEntry_LooksUpColoursAndCompositesOnBackground()
    {
        // Index 3 is made fully transparent through tRNS.
        var png = TestImages.Png(4, 1, 8, 3, [[0, 1, 2, 3]], Palette4, transparency: [255, 255, 255, 0]);

        var (header, _) = ImageDecoder.ReadHeader(png);
        var image = TestImages.DecodeOk(png, new ImageDecodeOptions { Background = (10, 20, 30) });

        Assert.True(header!.HasAlpha);
        Assert.Equal([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30], image.Pixels.ToArray());
    }

    [Fact]
    public void Decode_PngWithAlpha_CompositesOnDefaultBackground()
    {
        byte[][] rows = [[255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128, 255, 255, 255, 64]];
        var png = TestImages.Png(4, 1, 8, 6, rows);

        var image = TestImages.DecodeOk(png);

        TestImages.AssertColor((255, 0, 0), TestImages.PixelAt(image, 0, 0), 0, "opaque");
        TestImages.AssertColor((114, 114, 114), TestImages.PixelAt(image, 1, 0), 0, "transparent");
        // 0·128/255 + 114·127/255 = 56.8; 255·128/255 + 114·127/255 = 184.8
        TestImages.AssertColor((57, 57, 185), TestImages.PixelAt(image, 2, 0), 1, "half blue");
        // 255·64/255 + 114·191/255 = 149.4
        TestImages.AssertColor((149, 149, 149), TestImages.PixelAt(image, 3, 0), 1, "quarter white");
    }

    [Fact]
    public void Decode_GreyAlphaPng_CompositesOnBackground()
    {
        var png = TestImages.Png(2, 1, 8, 4, [[200, 255, 200, 0]]);

        var image = TestImages.DecodeOk(png, new ImageDecodeOptions { Background = (0, 50, 100) });

        Assert.Equal([200, 200, 200, 0, 50, 100], image.Pixels.ToArray());
    }

    [Fact]
    public void Decode_CmykJpeg_ConvertsToRgb()
    {
        // Stored inverted (Adobe): red = C0 M100 Y100 K0 → (255, 0, 0, 255); blue = C100 M100 Y0 K0 → (0, 0, 255, 255).
        var jpeg = TestImages.CmykJpeg([(255, 0, 0, 255), (0, 0, 255, 255)]);

        var (header, failure) = ImageDecoder.ReadHeader(jpeg);
        var image = TestImages.DecodeOk(jpeg);

        Assert.Null(failure);
        Assert.Equal(("jpeg", 16, 8), (header!.Format, header.Width, header.Height));
        Assert.Equal((16, 8), (image.Width, image.Height));
        TestImages.AssertColor((255, 0, 0), TestImages.PixelAt(image, 3, 4), 2, "left block");
        TestImages.AssertColor((0, 0, 255), TestImages.PixelAt(image, 12, 4), 2, "right block");
    }

    [Fact]
    public void Decode_AnimatedGif_ReturnsFirstFrame()
    {
        var gif = TestImages.AnimatedGif(3, 2, Palette4, [0, 0, 3, 0, 0, 1], [2, 2, 2, 2, 2, 2]);

        var (header, failure) = ImageDecoder.ReadHeader(gif);
        var image = TestImages.DecodeOk(gif);

        Assert.Null(failure);
        Assert.Equal(("gif", 3, 2, 2), (header!.Format, header.Width, header.Height, header.FrameCount));
        Assert.Equal([255, 0, 0, 255, 0, 0, 255, 255, 255, 255, 0, 0, 255, 0, 0, 0, 255, 0], image.Pixels.ToArray());
    }

    [Fact]
    public void Decode_Webp_Decodes()
    {
        var webp = TestImages.Encode(32, 16, (x, _) => x < 16 ? new SKColor(220, 20, 20) : new SKColor(20, 20, 220), SKEncodedImageFormat.Webp, 90);

        var image = TestImages.DecodeOk(webp);

        Assert.Equal(("webp", 32, 16), (image.Format, image.Width, image.Height));
        TestImages.AssertColor((220, 20, 20), TestImages.PixelAt(image, 4, 8), 20, "left");
        TestImages.AssertColor((20, 20, 220), TestImages.PixelAt(image, 28, 8), 20, "right");
    }

    [Fact]
    public void Decode_Bmp_DecodesBottomUpRowsExactly()
    {
        byte[] rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90];
        var bmp = TestImages.Bmp24(3, 2, rgb);

        var image = TestImages.DecodeOk(bmp);

        Assert.Equal(("bmp", 3, 2), (image.Format, image.Width, image.Height));
        Assert.Equal(rgb, image.Pixels.ToArray());
    }

    [Fact]
    public void Decode_TargetLongSideOnPng_DecodesFullResolution()
    {
        var image = TestImages.DecodeOk(TestImages.Photo("coffee.png"), new ImageDecodeOptions { TargetLongSide = 100 });

        Assert.Equal((600, 400, 600, 400), (image.Width, image.Height, image.OriginalWidth, image.OriginalHeight));
    }

    [Theory]
    [InlineData(1024, 1024, 768)]
    [InlineData(600, 1024, 768)]
    [InlineData(512, 512, 384)]
    [InlineData(400, 512, 384)]
    [InlineData(256, 256, 192)]
    [InlineData(100, 128, 96)]
    [InlineData(20, 128, 96)]
    public void Decode_TargetLongSideOnJpeg_PicksSmallestNativeScaleNotBelowTarget(int target, int width, int height)
    {
        var jpeg = TestImages.GradientJpeg1024x768;

        var image = TestImages.DecodeOk(jpeg, new ImageDecodeOptions { TargetLongSide = target });

        Assert.Equal((width, height, 1024, 768), (image.Width, image.Height, image.OriginalWidth, image.OriginalHeight));
    }
}
