using System.Security.Cryptography;

namespace Labeling.Blobs;

/// <summary>
/// The content identity of an image: the lower-case hex SHA-256 of its bytes, computed streaming (memory stays flat
/// for any size). Images registered before migration 0005 carry the MD5 the listing gave (32 hex digits) until they
/// are re-hashed; <see cref="ComputeAsync"/> can compute that MD5 in the same pass to tell whether their bytes changed.
/// </summary>
public static class ContentHash
{
    /// <summary>True when <paramref name="hash"/> is a SHA-256 content hash (64 hex digits).</summary>
    public static bool IsSha256(string? hash) => hash is { Length: 64 } && hash.All(char.IsAsciiHexDigit);

    /// <summary>True when <paramref name="hash"/> is a legacy MD5 content hash (32 hex digits).</summary>
    public static bool IsLegacyMd5(string? hash) => hash is { Length: 32 } && hash.All(char.IsAsciiHexDigit);

    /// <summary>
    /// Hashes the blob <paramref name="name"/>, reading at most <paramref name="maxBytes"/> bytes
    /// (<see cref="BlobTooLargeException"/> past them). Returns null when the blob does not exist.
    /// </summary>
    public static async Task<ContentHashes?> ComputeAsync(IBlobStore blobs, string name, long maxBytes, bool withMd5, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        Stream stream;
        try
        {
            stream = await blobs.OpenReadAsync(name, cancellationToken);
        }
        catch (BlobNotFoundException)
        {
            return null;
        }

        await using var limited = new LengthLimitedStream(stream, maxBytes, name);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
#pragma warning disable CA5351 // MD5 only recognises the hashes stored before SHA-256 (unchanged bytes); it identifies nothing new.
        using var md5 = withMd5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
#pragma warning restore CA5351
        var buffer = new byte[81920];
        long length = 0;
        int read;
        try
        {
            while ((read = await limited.ReadAsync(buffer, cancellationToken)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                md5?.AppendData(buffer, 0, read);
                length += read;
            }
        }
        catch (BlobNotFoundException)
        {
            return null;
        }

        return new ContentHashes(Convert.ToHexStringLower(sha.GetHashAndReset()), md5 is null ? null : Convert.ToHexStringLower(md5.GetHashAndReset()), length);
    }
}

/// <summary>The hashes of one read of a blob.</summary>
/// <param name="Sha256">Lower-case hex SHA-256: the content identity.</param>
/// <param name="Md5">Lower-case hex MD5 when asked for (to compare with a legacy hash), else null.</param>
/// <param name="Length">Bytes read.</param>
public sealed record ContentHashes(string Sha256, string? Md5, long Length);
