namespace Labeling.Labels;

public partial interface ILabelStore
{
    /// <summary>Blob path → the registered image's content hash and the blob version it was hashed from (unregistered paths are left out).</summary>
    Task<IReadOnlyDictionary<string, ImageBlob>> GetImageBlobsAsync(IReadOnlyList<string> blobPaths, CancellationToken cancellationToken);

    /// <summary>
    /// Records the blob version each image was re-hashed from, in one transaction. An image whose content is unchanged
    /// only gets its hash (a legacy MD5 becomes the SHA-256), ETag and size. An image whose content changed gets the new
    /// hash and goes back to <see cref="ImageStatus.Pending"/> (or <see cref="ImageStatus.Failed"/> with
    /// <see cref="ImageContent.FailReason"/>): its model boxes are deleted, its tags lose their grounded/weak state, it is
    /// labelled by no model and its size is forgotten; its human boxes and tags stay. A changed image whose new hash
    /// another image of its dataset holds keeps its old hash and is failed with a <c>duplicate-content</c> reason naming
    /// that image (<see cref="ContentUpdateOutcome.DuplicateContent"/>).
    /// </summary>
    Task<IReadOnlyList<ContentUpdate>> UpdateContentAsync(IReadOnlyList<ImageContent> images, CancellationToken cancellationToken);
}

/// <summary>A registered image's content identity.</summary>
/// <param name="ImageId">The image.</param>
/// <param name="BlobPath">Its blob path.</param>
/// <param name="ContentHash">Hex SHA-256 of its bytes (32 hex digits: an MD5 from before migration 0005).</param>
/// <param name="ETag">The blob version the hash was computed from, or null when none was recorded.</param>
/// <param name="Size">The blob's length at that version, or null.</param>
public sealed record ImageBlob(long ImageId, string BlobPath, string ContentHash, string? ETag, long? Size);

/// <summary>What a re-hash of a registered image found.</summary>
/// <param name="ImageId">The image.</param>
/// <param name="ContentHash">The hash of its current bytes.</param>
/// <param name="ETag">The blob version hashed.</param>
/// <param name="Size">Its length.</param>
/// <param name="Changed">True when the bytes differ from what the image was registered (and labelled) with.</param>
/// <param name="FailReason">For a changed image that cannot be labelled (<c>code: detail</c>): it is failed with this instead of pending.</param>
public sealed record ImageContent(long ImageId, string ContentHash, string ETag, long Size, bool Changed, string? FailReason = null);

/// <summary>How <see cref="ILabelStore.UpdateContentAsync"/> went for one image.</summary>
public enum ContentUpdateOutcome
{
    /// <summary>Same content: only the recorded version (and the hash's algorithm) changed.</summary>
    Unchanged,

    /// <summary>New content: back to pending (or failed with the given reason), its model labels dropped.</summary>
    Reset,

    /// <summary>New content that another image of the dataset already holds: failed with a <c>duplicate-content</c> reason.</summary>
    DuplicateContent,

    /// <summary>The image no longer exists.</summary>
    Missing,
}

/// <summary>The result of <see cref="ILabelStore.UpdateContentAsync"/> for one image.</summary>
/// <param name="ImageId">The image.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="DuplicateOf">For <see cref="ContentUpdateOutcome.DuplicateContent"/>, the image that holds the content.</param>
public sealed record ContentUpdate(long ImageId, ContentUpdateOutcome Outcome, long? DuplicateOf = null);
