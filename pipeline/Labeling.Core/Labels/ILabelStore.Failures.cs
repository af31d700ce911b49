namespace Labeling.Labels;

public partial interface ILabelStore
{
    /// <summary>
    /// The failed images grouped by dataset and reason (<see cref="FailureReason"/>), for one dataset and/or reason or
    /// (null) all; each group with its first <paramref name="examplesPerGroup"/> (0–100) images. Ordered by dataset, then
    /// count (largest first), then reason.
    /// </summary>
    Task<IReadOnlyList<FailureGroup>> GetFailureGroupsAsync(string? dataset, string? reason, int examplesPerGroup, CancellationToken cancellationToken);

    /// <summary>A page of failed images (of one dataset and/or reason, or all), in id order after <paramref name="afterId"/>, <paramref name="limit"/> 1–10,000.</summary>
    Task<IReadOnlyList<FailedImage>> GetFailedImagesAsync(string? dataset, string? reason, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the failed images of one dataset and/or reason (or all) back to pending, in one statement: the last error is
    /// cleared, the attempts are kept. Returns how many changed; the next enqueue sends them to the workers again.
    /// </summary>
    Task<int> ResetFailedAsync(string? dataset, string? reason, CancellationToken cancellationToken);
}
