using System.Diagnostics.CodeAnalysis;

namespace Labeling.Imaging;

/// <summary>Outcome of a decode: an image, or a typed refusal with a human-readable message.</summary>
public sealed record DecodeResult
{
    private DecodeResult()
    {
    }

    /// <summary>The decoded image; <c>null</c> on failure.</summary>
    public DecodedImage? Image { get; init; }

    /// <summary>Why the image was refused; <c>null</c> on success.</summary>
    public DecodeFailureReason? Failure { get; init; }

    /// <summary>A sentence for people (logs, the image's last error); <c>null</c> on success.</summary>
    public string? Message { get; init; }

    /// <summary>Whether <see cref="Image"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Image))]
    [MemberNotNullWhen(false, nameof(Failure), nameof(Message))]
    public bool Success => Image is not null;

    /// <summary>A successful result.</summary>
    public static DecodeResult Ok(DecodedImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new DecodeResult { Image = image };
    }

    /// <summary>A refusal.</summary>
    public static DecodeResult Fail(DecodeFailureReason reason, string message)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        return new DecodeResult { Failure = reason, Message = message };
    }
}
