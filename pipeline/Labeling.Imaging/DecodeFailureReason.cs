namespace Labeling.Imaging;

/// <summary>Why an image was refused by <see cref="ImageDecoder"/>.</summary>
public enum DecodeFailureReason
{
    /// <summary>The file has zero bytes.</summary>
    Empty,

    /// <summary>The bytes are not recognised as any image format.</summary>
    NotAnImage,

    /// <summary>The image data ends early (a partially downloaded or cut file). Partially decoded pixels are discarded.</summary>
    Truncated,

    /// <summary>The header declares more pixels than <see cref="ImageDecodeOptions.MaxPixels"/> (decompression bomb guard).</summary>
    TooManyPixels,

    /// <summary>The bytes look like an image format (or a variant of one) that this decoder cannot read, e.g. TIFF, HEIF, JPEG XL.</summary>
    UnsupportedFormat,

    /// <summary>The image was recognised but its data is invalid.</summary>
    Corrupt,
}

/// <summary>Stable names of <see cref="DecodeFailureReason"/> values, for storing as an image's failure reason.</summary>
public static class DecodeFailureReasonExtensions
{
    /// <summary>The kebab-case code of a reason: <c>empty</c>, <c>not-an-image</c>, <c>truncated</c>, <c>too-many-pixels</c>, <c>unsupported-format</c>, <c>corrupt</c>.</summary>
    public static string ToCode(this DecodeFailureReason reason) => reason switch
    {
        DecodeFailureReason.Empty => "empty",
        DecodeFailureReason.NotAnImage => "not-an-image",
        DecodeFailureReason.Truncated => "truncated",
        DecodeFailureReason.TooManyPixels => "too-many-pixels",
        DecodeFailureReason.UnsupportedFormat => "unsupported-format",
        DecodeFailureReason.Corrupt => "corrupt",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "Unknown decode failure reason."),
    };
}
