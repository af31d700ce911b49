using System.Security.Cryptography;
using System.Text;
using Labeling.Blobs;
using Labeling.Imaging;
using Labeling.Labels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Labeling.Server;

/// <summary>
/// Resized JPEG previews kept on disk as <c>CacheFolder/&lt;hash[..2]&gt;/&lt;hash&gt;-&lt;size&gt;.jpg</c>: made
/// once per (content, size), then served as files with an ETag of the same key. The content hash names
/// the bytes, so a cached file is never stale.
/// </summary>
internal sealed class Thumbnails(IOptions<ThumbnailOptions> options, IHostEnvironment environment, IBlobStore blobs)
{
    private readonly string _folder = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.CacheFolder));

    /// <summary>The cached thumbnail file of <paramref name="image"/> at <paramref name="size"/>, made now if missing; or why it cannot be made.</summary>
    public async Task<(string? File, string Key, DecodeResult? Failure)> GetAsync(ImageRecord image, int size, CancellationToken cancellationToken)
    {
        var key = $"{SafeHash(image.ContentHash)}-{size}";
        var file = Path.Combine(_folder, key[..2], key + ".jpg");
        if (File.Exists(file))
        {
            return (file, key, null);
        }

        byte[] bytes;
        await using (var stream = await blobs.OpenReadAsync(image.BlobPath, cancellationToken))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
            bytes = buffer.ToArray();
        }

        var (jpeg, failure) = await Task.Run(() => Thumbnail.Jpeg(bytes, size, options.Value.Quality), cancellationToken);
        if (jpeg is null)
        {
            return (null, key, failure);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        // Written aside and moved: two requests racing for the same thumbnail both end with a whole file.
        var temporary = $"{file}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temporary, jpeg, cancellationToken);
        File.Move(temporary, file, overwrite: true);
        return (file, key, null);
    }

    /// <summary><c>GET /api/images/{id}/thumbnail?size=N</c>.</summary>
    public static async Task<Results<PhysicalFileHttpResult, BadRequest<ProblemDetails>, NotFound<ProblemDetails>, UnprocessableEntity<ProblemDetails>>> GetEndpointAsync(
        long id, int? size, HttpContext http, ILabelStore store, Thumbnails thumbnails, IOptions<ThumbnailOptions> options, CancellationToken ct)
    {
        var o = options.Value;
        var longSide = size ?? o.DefaultSize;
        if (longSide < 16 || longSide > o.MaxSize)
        {
            return TypedResults.BadRequest(new ProblemDetails { Title = "Bad request", Detail = $"size must be 16–{o.MaxSize}.", Status = StatusCodes.Status400BadRequest });
        }

        var images = await store.GetImagesAsync([id], ct);
        if (images.Count == 0)
        {
            return TypedResults.NotFound(new ProblemDetails { Title = "Not found", Detail = $"No image {id}.", Status = StatusCodes.Status404NotFound });
        }

        string? file;
        string key;
        DecodeResult? failure;
        try
        {
            (file, key, failure) = await thumbnails.GetAsync(images[0], longSide, ct);
        }
        catch (BlobNotFoundException)
        {
            return TypedResults.NotFound(new ProblemDetails { Title = "Not found", Detail = $"Image {id} is registered but its blob '{images[0].BlobPath}' is gone.", Status = StatusCodes.Status404NotFound });
        }

        if (file is null)
        {
            return TypedResults.UnprocessableEntity(new ProblemDetails
            {
                Title = "Not an image it can resize",
                Detail = $"{failure!.Failure!.Value.ToCode()}: {failure.Message}",
                Status = StatusCodes.Status422UnprocessableEntity,
            });
        }

        http.Response.Headers.CacheControl = $"private, max-age={(long)o.MaxAge.TotalSeconds}";
        // PhysicalFile answers If-None-Match with 304 itself.
        return TypedResults.PhysicalFile(file, "image/jpeg", lastModified: File.GetLastWriteTimeUtc(file), entityTag: new EntityTagHeaderValue($"\"{key}\""));
    }

    /// <summary>The hash as a file name: hex as stored, or (anything else) the SHA-256 of it.</summary>
    private static string SafeHash(string hash) =>
        hash.Length is >= 8 and <= 128 && hash.All(char.IsAsciiLetterOrDigit) ? hash.ToLowerInvariant() : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hash)));
}
