using System.Text;
using SkiaSharp;

namespace Labeling.Imaging.Tests;

public class HostileInputTests
{
    private static DecodeResult Refuse(byte[] data, DecodeFailureReason expected)
    {
        var result = ImageDecoder.Decode(data, new ImageDecodeOptions());
        Assert.False(result.Success);
        Assert.Null(result.Image);
        Assert.Equal(expected, result.Failure);
        Assert.False(string.IsNullOrWhiteSpace(result.Message));

        var (header, failure) = ImageDecoder.ReadHeader(data);
        if (header is null)
        {
            Assert.NotNull(failure);
            Assert.False(failure.Success);
        }
        else
        {
            Assert.Null(failure);
        }

        return result;
    }

    [Fact]
    public void Decode_ZeroBytes_IsEmpty()
    {
        var result = Refuse([], DecodeFailureReason.Empty);

        Assert.Equal("empty", result.Failure!.Value.ToCode());
        Assert.Equal(DecodeFailureReason.Empty, ImageDecoder.ReadHeader(Array.Empty<byte>()).Failure!.Failure);
    }

    [Fact]
    public void Decode_RandomBytesNamedJpg_IsNotAnImage()
    {
        // What a worker gets for "holiday.jpg" that holds no image: the decoder sniffs content, not names.
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        bytes[0] = 0x5A; // keep the 1-in-65536 WBMP look-alike (00 00 …) out of a fixed seed's way

        var result = Refuse(bytes, DecodeFailureReason.NotAnImage);

        Assert.Equal("not-an-image", result.Failure!.Value.ToCode());
    }

    [Fact]
    public void Decode_HtmlErrorPageNamedJpg_IsNotAnImage()
    {
        Refuse(Encoding.UTF8.GetBytes("<!DOCTYPE html><html><body>403 Forbidden</body></html>"), DecodeFailureReason.NotAnImage);
    }

    [Theory]
    [InlineData("hello\n")]
    [InlineData("a shopping list: eggs, milk\n")]
    [InlineData("This text file was renamed to .jpg by mistake; it holds no pixels at all, only these words and a new line.\n")]
    public void Decode_TextFileNamedJpg_IsNotAnImage(string text)
    {
        // A first user's mistake: no image signature at the start, so it is not a cut image, whatever its length.
        var result = Refuse(Encoding.UTF8.GetBytes(text), DecodeFailureReason.NotAnImage);

        Assert.Equal("not-an-image", result.Failure!.Value.ToCode());
        Assert.Equal(DecodeFailureReason.NotAnImage, ImageDecoder.ReadHeader(Encoding.UTF8.GetBytes(text)).Failure!.Failure);
    }

    [Fact]
    public void Decode_FirstHalfOfRealJpeg_IsTruncated()
    {
        var jpeg = TestImages.Photo("rocket.jpg");

        var firstHalf = jpeg[..(jpeg.Length / 2)];

        var result = Refuse(firstHalf, DecodeFailureReason.Truncated);

        Assert.Equal("truncated", result.Failure!.Value.ToCode());
        var header = ImageDecoder.ReadHeader(firstHalf).Header; // the header itself is intact
        Assert.Equal((640, 427), (header!.Width, header.Height));
    }

    [Fact]
    public void Decode_FirstHalfOfRealPng_IsTruncated()
    {
        var png = TestImages.Photo("coffee.png");

        Refuse(png[..(png.Length / 2)], DecodeFailureReason.Truncated);
    }

    [Fact]
    public void Decode_JpegCutInsideItsHeader_IsTruncated()
    {
        Refuse(TestImages.Photo("rocket.jpg")[..40], DecodeFailureReason.Truncated);
    }

    [Fact]
    public void Decode_PngHeaderClaiming100000Squared_IsRefusedFromHeaderWithoutAllocatingPixels()
    {
        // 10^10 pixels: decoding would need 40 GB. The IDAT holds only one row of zeros.
        var png = TestImages.Png(100_000, 100_000, 8, 2, [new byte[300_000]]);
        var (header, failure) = ImageDecoder.ReadHeader(png);
        Assert.Null(failure);
        Assert.Equal(("png", 100_000, 100_000), (header!.Format, header.Width, header.Height));
        Assert.Equal(10_000_000_000L, header.PixelCount);
        ImageDecoder.Decode(png, new ImageDecodeOptions()); // warm-up: JIT and Skia statics

        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = ImageDecoder.Decode(png, new ImageDecodeOptions());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(DecodeFailureReason.TooManyPixels, result.Failure);
        Assert.Equal("too-many-pixels", result.Failure!.Value.ToCode());
        Assert.Contains("100000x100000", result.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64 * 1024, $"refusing from the header allocated {allocated} bytes");
    }

    [Fact]
    public void Decode_TiffFile_IsUnsupportedFormat()
    {
        byte[] tiff = [(byte)'I', (byte)'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, .. new byte[64]];

        var result = Refuse(tiff, DecodeFailureReason.UnsupportedFormat);

        Assert.Contains("tiff", result.Message, StringComparison.Ordinal);
        Assert.Equal("unsupported-format", result.Failure!.Value.ToCode());
    }

    [Fact]
    public void Decode_HeicFile_IsUnsupportedFormat()
    {
        byte[] heic = [0, 0, 0, 0x18, .. "ftypheic"u8.ToArray(), 0, 0, 0, 0, .. "mif1heic"u8.ToArray(), .. new byte[64]];

        var result = Refuse(heic, DecodeFailureReason.UnsupportedFormat);

        Assert.Contains("heif", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_PngWithImpossibleColourType_IsCorrupt()
    {
        var png = TestImages.Png(4, 4, 8, 5, [new byte[12], new byte[12], new byte[12], new byte[12]]);

        var result = Refuse(png, DecodeFailureReason.Corrupt);

        Assert.Equal("corrupt", result.Failure!.Value.ToCode());
    }

    [Fact]
    public void Decode_PngWithGarbageCompressedData_IsCorrupt()
    {
        using var ms = new MemoryStream();
        var good = TestImages.Png(8, 8, 8, 2, Enumerable.Range(0, 8).Select(_ => new byte[24]).ToArray());
        ms.Write(good.AsSpan(0, 33)); // signature + IHDR
        var garbage = new byte[200];
        new Random(7).NextBytes(garbage);
        garbage[0] = 0x78;
        garbage[1] = 0x9C; // a valid zlib header, then noise
        TestImages.WriteChunk(ms, "IDAT", garbage);
        TestImages.WriteChunk(ms, "IEND", []);

        Refuse(ms.ToArray(), DecodeFailureReason.Corrupt);
    }

    [Fact]
    public void Decode_OneByOnePixel_Decodes()
    {
        foreach (var format in new[] { SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg })
        {
            var image = TestImages.DecodeOk(TestImages.Encode(1, 1, (_, _) => new SKColor(200, 30, 60), format));

            Assert.Equal((1, 1, 1, 1), (image.Width, image.Height, image.OriginalWidth, image.OriginalHeight));
            TestImages.AssertColor((200, 30, 60), TestImages.PixelAt(image, 0, 0), format == SKEncodedImageFormat.Png ? 0 : 12, format.ToString());
        }
    }

    [Fact]
    public void Decode_InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => ImageDecoder.Decode(new byte[] { 1 }, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageDecoder.Decode(new byte[] { 1 }, new ImageDecodeOptions { MaxPixels = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageDecoder.Decode(new byte[] { 1 }, new ImageDecodeOptions { TargetLongSide = -5 }));
    }
}
