namespace Labeling.Labels;

/// <summary>
/// The reason of a failed image, for grouping: the code before the first <c>": "</c> of its last error
/// (<c>missing-blob: …</c> → <c>missing-blob</c>), the whole text when there is none, <see cref="Unknown"/> when it is empty.
/// The label store computes the same in SQL.
/// </summary>
public static class FailureReason
{
    /// <summary>The reason of a failed image without a recorded error.</summary>
    public const string Unknown = "unknown";

    /// <summary>The reason of <paramref name="lastError"/>.</summary>
    public static string Of(string? lastError)
    {
        if (string.IsNullOrEmpty(lastError))
        {
            return Unknown;
        }

        var colon = lastError.IndexOf(": ", StringComparison.Ordinal);
        var reason = colon < 0 ? lastError : lastError[..colon];
        return reason.Length == 0 ? Unknown : reason;
    }
}

/// <summary>A failed image with its dataset and why it failed.</summary>
/// <param name="Id">The image id.</param>
/// <param name="Dataset">Its dataset.</param>
/// <param name="BlobPath">Its blob path.</param>
/// <param name="Reason">The reason (<see cref="FailureReason"/>).</param>
/// <param name="LastError">The whole error text, or null.</param>
/// <param name="Attempts">How many times it was queued.</param>
public sealed record FailedImage(long Id, string Dataset, string BlobPath, string Reason, string? LastError, int Attempts);

/// <summary>The failed images of one dataset that share a reason.</summary>
/// <param name="Dataset">The dataset.</param>
/// <param name="Reason">The reason (<see cref="FailureReason"/>).</param>
/// <param name="Count">How many images.</param>
/// <param name="Examples">The first few of them, in id order.</param>
public sealed record FailureGroup(string Dataset, string Reason, long Count, IReadOnlyList<FailedImage> Examples);
