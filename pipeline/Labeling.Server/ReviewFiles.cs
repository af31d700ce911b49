using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Labeling.Server;

/// <summary>The review page: static files embedded in this assembly (no front-end build), served under <c>/review</c>.</summary>
internal static class ReviewFiles
{
    private static readonly Assembly Assembly = typeof(ReviewFiles).Assembly;

    public static IEndpointRouteBuilder MapReviewPage(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/review", () => File("index.html")).ExcludeFromDescription();
        endpoints.MapGet("/review/{file}", (string file) => File(file)).ExcludeFromDescription();
        return endpoints;
    }

    private static IResult File(string file)
    {
        // Only names embedded under Review/ exist; anything else (.., slashes) is simply not found.
        var stream = Assembly.GetManifestResourceStream("Review/" + file);
        if (stream is null)
        {
            return Results.NotFound();
        }

        var type = Path.GetExtension(file) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "application/octet-stream",
        };
        return Results.Stream(stream, type);
    }
}
