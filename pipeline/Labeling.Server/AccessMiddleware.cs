using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Labeling.Server;

/// <summary>
/// Guards the dashboard, the API and the review page (not the health probes): loopback callers
/// get in; others need the configured Basic user/password or bearer token. Hangfire's own
/// local-requests filter is replaced by this one gate so that one rule covers every page.
/// </summary>
internal sealed class AccessMiddleware(IOptions<ServerOptions> options) : IMiddleware
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || IsAllowed(context, options.Value.Access))
        {
            await next(context);
            return;
        }

        var access = options.Value.Access;
        if (access.User is null && access.Token is null)
        {
            // Nobody could ever get in: say which settings open the door.
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync("Remote access is off. Set Server:Access:User and Server:Access:Password, or Server:Access:Token, to allow it.");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        if (access.User is not null)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Labeling\", charset=\"UTF-8\"";
        }

        await context.Response.WriteAsync("Sign in with the configured user and password, or send the configured bearer token.");
    }

    internal static bool IsAllowed(HttpContext context, AccessOptions access)
    {
        // A null remote address (an in-process test server) is not local: no guessing.
        if (access.AllowLoopback && context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote))
        {
            return true;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (access.Token is { Length: > 0 } token && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return SameText(header["Bearer ".Length..].Trim(), token);
        }

        if (access.User is { } user && access.Password is { } password && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            }
            catch (FormatException)
            {
                return false;
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            var givenUser = colon > 0 ? decoded[..colon] : "";
            var givenPassword = colon > 0 ? decoded[(colon + 1)..] : "";
            // Both halves are compared, whatever the first result, so timing says nothing about which was wrong.
            return colon > 0 & SameText(givenUser, user) & SameText(givenPassword, password);
        }

        return false;
    }

    private static bool SameText(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
