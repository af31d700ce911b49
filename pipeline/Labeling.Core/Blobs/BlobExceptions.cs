namespace Labeling.Blobs;

/// <summary>A blob name that no store accepts (traversal, absolute path, control characters, too long…).</summary>
public sealed class InvalidBlobNameException(string name, string reason)
    : ArgumentException($"Invalid blob name '{Labeling.Blobs.BlobName.Printable(name)}': {reason}.")
{
    public string Name { get; } = name;
    public string Reason { get; } = reason;
}

/// <summary>The blob does not exist.</summary>
public sealed class BlobNotFoundException(string container, string name, Exception? inner = null)
    : Exception($"Blob '{Labeling.Blobs.BlobName.Printable(name)}' was not found in container '{container}'.", inner)
{
    public string Container { get; } = container;
    public string Name { get; } = name;
}

/// <summary>A write without overwrite found the blob already there.</summary>
public sealed class BlobAlreadyExistsException(string container, string name, Exception? inner = null)
    : Exception($"Blob '{Labeling.Blobs.BlobName.Printable(name)}' already exists in container '{container}'.", inner)
{
    public string Container { get; } = container;
    public string Name { get; } = name;
}

/// <summary>
/// A blob is bigger than a reader allows (its size, or a <see cref="LengthLimitedStream"/> read past the limit: it grew
/// after the check, or its size was not known). Not an <see cref="IOException"/>: retrying cannot help.
/// </summary>
public sealed class BlobTooLargeException(long limit, string? name = null, long? size = null)
    : Exception(name is null
        ? $"The content is over the {limit}-byte limit."
        : $"Blob '{Labeling.Blobs.BlobName.Printable(name)}' is over the {limit}-byte limit.")
{
    /// <summary>The limit, in bytes.</summary>
    public long Limit { get; } = limit;

    /// <summary>The blob's size when it was known before reading, else null.</summary>
    public long? Size { get; } = size;
}
