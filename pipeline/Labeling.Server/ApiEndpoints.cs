using Labeling.Blobs;
using Labeling.Labels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Labeling.Server;

/// <summary>
/// The HTTP API under <c>/api</c> (minimal APIs, described by <c>/openapi/v1.json</c>): datasets,
/// progress, models, images with their boxes, image bytes, and the boxes query with the CLI's
/// filters. Read-only, but for job control per dataset (<see cref="DatasetControlEndpoints"/>).
/// </summary>
internal static class ApiEndpoints
{
    private const int MaxBoxes = 10_000;

    public static IEndpointRouteBuilder MapLabelingApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").WithTags("Labeling");

        api.MapGet("/progress", async (ProgressReader progress, CancellationToken ct) => TypedResults.Ok(await progress.ReadAsync(ct)))
            .WithName("GetProgress").WithSummary("Images by status, boxes, the active model and the label queue's depth, per dataset and in total.");

        // GET /datasets (with control, rate and ETA) and the control POSTs.
        api.MapDatasetControl();

        api.MapGet("/datasets/{name}", async Task<Results<Ok<DatasetProgress>, NotFound<ProblemDetails>>> (string name, ILabelStore store, CancellationToken ct) =>
            {
                var rows = await store.GetProgressAsync(name, ct);
                return rows.Count == 0 ? NotFound($"No dataset '{name}'.") : TypedResults.Ok(rows[0]);
            })
            .WithName("GetDataset").WithSummary("One dataset's progress.");

        api.MapGet("/models", async (ILabelStore store, CancellationToken ct) => TypedResults.Ok(await store.ListModelsAsync(ct)))
            .WithName("ListModels").WithSummary("Registered detector models; one is active.");

        api.MapGet("/training-runs", async (ILabelStore store, CancellationToken ct) => TypedResults.Ok(await store.ListTrainingRunsAsync(ct)))
            .WithName("ListTrainingRuns").WithSummary("Retraining runs: the candidate each builds, how it ended (or its process and last heartbeat while it runs), the checkpoint step an interrupted run resumed from.");

        api.MapGet("/boxes", QueryBoxesAsync)
            .WithName("QueryBoxes").WithSummary("Boxes filtered like `labeling query`, paged by box id (pass nextAfterId back as after).");

        api.MapGet("/images", ListImagesAsync)
            .WithName("ListImages").WithSummary("Images of a status (default labelled), paged by image id.");

        api.MapGet("/images/{id:long}", GetImageAsync)
            .WithName("GetImage").WithSummary("One image with its tags (grounded or weak) and every box.");

        api.MapGet("/images/{id:long}/content", GetImageContentAsync)
            .WithName("GetImageContent").WithSummary("The image's bytes as stored.");

        api.MapGet("/images/{id:long}/thumbnail", Thumbnails.GetEndpointAsync)
            .WithName("GetImageThumbnail").WithSummary("A JPEG of the image, long side `size` px (default 256), as displayed; cached on disk by content hash and size, with an ETag.");

        api.MapGet("/review", ReviewAsync)
            .WithName("Review").WithSummary("Images that have a box matching the filters, each with those boxes: what the review page shows.");
        api.MapFailures();
        return endpoints;
    }

    /// <summary>An image with everything known about it.</summary>
    public sealed record ImageDetails(ImageRecord Image, IReadOnlyList<ImageTagRecord> Tags, IReadOnlyList<BoxRow> Boxes);

    /// <summary>A page of images; <see cref="NextAfterId"/> is null on the last page.</summary>
    public sealed record ImagePage(IReadOnlyList<ImageRecord> Images, long? NextAfterId);

    private static async Task<Results<Ok<BoxPage>, BadRequest<ProblemDetails>>> QueryBoxesAsync(
        ILabelStore store, CancellationToken ct,
        string? @class = null, float? minScore = null, string? source = null, string? model = null, string? dataset = null,
        long? imageId = null, long after = 0, int limit = 100)
    {
        if (Filter(@class, minScore, source, model, dataset, out var problem) is not { } filter)
        {
            return BadRequest(problem!);
        }

        if (limit is < 1 or > MaxBoxes)
        {
            return BadRequest($"limit must be 1–{MaxBoxes}.");
        }

        return TypedResults.Ok(await store.QueryBoxesAsync(filter with { ImageId = imageId, AfterId = after, Limit = limit }, ct));
    }

    private static async Task<Results<Ok<Labels.ReviewPage>, BadRequest<ProblemDetails>>> ReviewAsync(
        ILabelStore store, CancellationToken ct,
        string? @class = null, float? minScore = null, string? source = null, string? model = null, string? dataset = null,
        long after = 0, int limit = 24)
    {
        if (Filter(@class, minScore, source, model, dataset, out var problem) is not { } filter)
        {
            return BadRequest(problem!);
        }

        if (limit is < 1 or > 500)
        {
            return BadRequest("limit must be 1–500.");
        }

        return TypedResults.Ok(await store.QueryReviewImagesAsync(filter, after, limit, ct));
    }

    private static async Task<Results<Ok<ImagePage>, BadRequest<ProblemDetails>>> ListImagesAsync(
        ILabelStore store, CancellationToken ct, string status = "labelled", string? dataset = null, long after = 0, int limit = 100)
    {
        if (!Enum.TryParse<ImageStatus>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
        {
            return BadRequest("status must be pending, queued, labelled or failed.");
        }

        if (limit is < 1 or > 1000)
        {
            return BadRequest("limit must be 1–1000.");
        }

        var ids = await store.GetImageIdsByStatusAsync(parsed, dataset, after, limit + 1, ct);
        var page = ids.Take(limit).ToList();
        var images = await store.GetImagesAsync(page, ct);
        return TypedResults.Ok(new ImagePage(images.OrderBy(i => i.Id).ToList(), ids.Count > limit ? page[^1] : null));
    }

    private static async Task<Results<Ok<ImageDetails>, NotFound<ProblemDetails>>> GetImageAsync(long id, ILabelStore store, CancellationToken ct)
    {
        var images = await store.GetImagesAsync([id], ct);
        if (images.Count == 0)
        {
            return NotFound($"No image {id}.");
        }

        var tags = await store.GetTagsAsync([id], ct);
        var boxes = await store.QueryBoxesAsync(new BoxQuery { ImageId = id, Limit = MaxBoxes }, ct);
        return TypedResults.Ok(new ImageDetails(images[0], tags, boxes.Boxes));
    }

    private static async Task<Results<FileStreamHttpResult, NotFound<ProblemDetails>>> GetImageContentAsync(
        long id, ILabelStore store, IBlobStore blobs, CancellationToken ct)
    {
        var images = await store.GetImagesAsync([id], ct);
        if (images.Count == 0)
        {
            return NotFound($"No image {id}.");
        }

        Stream content;
        try
        {
            content = await blobs.OpenReadAsync(images[0].BlobPath, ct);
        }
        catch (BlobNotFoundException)
        {
            return NotFound($"Image {id} is registered but its blob '{images[0].BlobPath}' is gone.");
        }

        // The stored bytes are served as an image type picked from the name, never sniffed as HTML.
        return TypedResults.Stream(content, ContentType(images[0].BlobPath), enableRangeProcessing: false);
    }

    internal static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        ".bmp" => "image/bmp",
        _ => "application/octet-stream",
    };

    private static BoxQuery? Filter(string? className, float? minScore, string? source, string? model, string? dataset, out string? problem)
    {
        problem = null;
        BoxSource? parsedSource = null;
        if (source is not null)
        {
            if (!Enum.TryParse<BoxSource>(source, ignoreCase: true, out var s) || !Enum.IsDefined(s) || int.TryParse(source, out _))
            {
                problem = "source must be human, pseudo, weak or discovered.";
                return null;
            }

            parsedSource = s;
        }

        if (!string.IsNullOrWhiteSpace(className))
        {
            try
            {
                TagName.Normalise(className);
            }
            catch (ArgumentException e)
            {
                problem = "class: " + e.Message;
                return null;
            }
        }

        if (minScore is { } score && (float.IsNaN(score) || score < 0 || score > 1))
        {
            problem = "minScore must be between 0 and 1.";
            return null;
        }

        return new BoxQuery
        {
            ClassName = string.IsNullOrWhiteSpace(className) ? null : className,
            MinScore = minScore,
            Source = parsedSource,
            ModelVersion = string.IsNullOrWhiteSpace(model) ? null : model,
            Dataset = string.IsNullOrWhiteSpace(dataset) ? null : dataset,
        };
    }

    private static BadRequest<ProblemDetails> BadRequest(string detail) =>
        TypedResults.BadRequest(new ProblemDetails { Title = "Bad request", Detail = detail, Status = StatusCodes.Status400BadRequest });

    private static NotFound<ProblemDetails> NotFound(string detail) =>
        TypedResults.NotFound(new ProblemDetails { Title = "Not found", Detail = detail, Status = StatusCodes.Status404NotFound });
}
