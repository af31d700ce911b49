using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>Thumbnails of <c>GET /api/images/{id}/thumbnail</c> (the review page's tiles), bound from <c>Server:Thumbnails</c>.</summary>
public sealed class ThumbnailOptions
{
    public const string Section = "Server:Thumbnails";

    /// <summary>Where generated thumbnails are kept, keyed by the image's content hash and size; relative paths are under the content root (the working directory of <c>labeling serve</c>). Default <c>data/thumbnails</c>.</summary>
    public string CacheFolder { get; set; } = Path.Combine("data", "thumbnails");

    /// <summary>The long side when a request gives no <c>size</c>. Default 256.</summary>
    public int DefaultSize { get; set; } = 256;

    /// <summary>The largest <c>size</c> a request may ask for. Default 1024.</summary>
    public int MaxSize { get; set; } = 1024;

    /// <summary>JPEG quality, 1–100. Default 80.</summary>
    public int Quality { get; set; } = 80;

    /// <summary>How long browsers may keep a thumbnail without asking again (<c>Cache-Control: max-age</c>); after that the ETag makes the check cheap. Default 1 day.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(1);
}

internal sealed class ThumbnailOptionsValidation : IValidateOptions<ThumbnailOptions>
{
    public ValidateOptionsResult Validate(string? name, ThumbnailOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.CacheFolder))
        {
            failures.Add("Server:Thumbnails:CacheFolder must name a folder.");
        }

        if (options.MaxSize is < 16 or > 4096)
        {
            failures.Add("Server:Thumbnails:MaxSize must be 16–4096.");
        }

        if (options.DefaultSize < 16 || options.DefaultSize > options.MaxSize)
        {
            failures.Add("Server:Thumbnails:DefaultSize must be 16–MaxSize.");
        }

        if (options.Quality is < 1 or > 100)
        {
            failures.Add("Server:Thumbnails:Quality must be 1–100.");
        }

        if (options.MaxAge < TimeSpan.Zero)
        {
            failures.Add("Server:Thumbnails:MaxAge must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
