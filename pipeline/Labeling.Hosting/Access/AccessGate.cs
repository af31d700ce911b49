using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Hosting.Access;

/// <summary>
/// The one gate in front of every page but the health probes (docs/server.md, Access). In order:
/// a state-changing request from another site (<c>Sec-Fetch-Site</c> cross-site or same-site, or an <c>Origin</c> that
/// is not this host) is refused; a loopback caller with a loopback or configured <c>Host</c>, through no proxy or a
/// trusted one, is admin; anyone else signs in (Basic or bearer), and a client address past its failed sign-in limit
/// gets 429 without its credentials being checked; the caller's role must cover the request.
/// </summary>
internal sealed partial class AccessGate : IMiddleware, IDisposable
{
    private readonly AccessOptions _access;
    private readonly AccessPolicy _policy;
    private readonly ILogger<AccessGate> _logger;
    private readonly IPNetwork[] _trustedProxies;
    private readonly HashSet<string> _allowedHosts;
    private readonly PartitionedRateLimiter<IPAddress> _failures;

    public AccessGate(IOptions<AccessOptions> options, IOptions<AccessPolicy> policy, ILogger<AccessGate> logger)
    {
        _access = options.Value;
        _policy = policy.Value;
        _logger = logger;
        _trustedProxies = AccessNetworks.Parse(_access.TrustedProxies);
        _allowedHosts = new HashSet<string>(_access.AllowedHosts ?? [], StringComparer.OrdinalIgnoreCase);
        // System.Threading.RateLimiting's limiters, the ones ASP.NET's rate limiting middleware runs: that middleware
        // takes a permit per request before the outcome is known, but only failures may count here, and a locked-out
        // address must not have its guesses checked at all (a 429 for wrong and 200 for right would still tell).
        var limit = _access.FailedSignIns.Limit;
        var window = _access.FailedSignIns.Window;
        _failures = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = window, QueueLimit = 0, AutoReplenishment = true }));
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (request.Path.StartsWithSegments("/healthz") || request.Path.StartsWithSegments("/readyz"))
        {
            await next(context);
            return;
        }

        var peer = context.Features.Get<AccessPeer>() ?? AccessPeer.Of(context);
        var client = ClientAddress(context, peer);
        if (IsStateChanging(request.Method) && CrossSite(request) is { } crossSite)
        {
            await RefuseAsync(context, client, StatusCodes.Status403Forbidden, crossSite);
            return;
        }

        var (caller, loopbackRefusal) = _access.AllowLoopback ? LoopbackCaller(context, peer) : (null, null);
        if (caller is null && _access.HasCredentials && request.Headers.Authorization.ToString() is { Length: > 0 } authorization)
        {
            using (var locked = _failures.AttemptAcquire(client, 0))
            {
                if (!locked.IsAcquired)
                {
                    await TooManyAsync(context, locked);
                    return;
                }
            }

            caller = SignIn(authorization);
            if (caller is null)
            {
                using var failure = _failures.AttemptAcquire(client, 1);
                if (!failure.IsAcquired)
                {
                    LogLockedOut(client, _access.FailedSignIns.Limit, _access.FailedSignIns.Window);
                    await TooManyAsync(context, failure);
                    return;
                }

                LogSignInFailed(client, request.Method, request.Path);
                await ChallengeAsync(context);
                return;
            }
        }

        if (caller is null)
        {
            if (loopbackRefusal is not null)
            {
                await RefuseAsync(context, client, StatusCodes.Status403Forbidden, loopbackRefusal);
            }
            else if (!_access.HasCredentials)
            {
                // Nobody could ever get in: say which settings open the door.
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsync("Remote access is off. Set Server:Access:User and Server:Access:Password, or Server:Access:Token (or Server:Access:Users / Tokens), to allow it.");
            }
            else
            {
                await ChallengeAsync(context);
            }

            return;
        }

        var needed = Required(context);
        if (caller.Role < needed)
        {
            await RefuseAsync(context, client, StatusCodes.Status403Forbidden,
                $"{caller.Name} has the {AccessText.Of(caller.Role)} role; {request.Method} {request.Path} needs {AccessText.Of(needed)}.");
            return;
        }

        context.Features.Set(caller);
        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, caller.Name), new Claim(ClaimTypes.Role, caller.Role.ToString())], caller.How));
        await next(context);
    }

    public void Dispose() => _failures.Dispose();

    private static bool IsStateChanging(string method) =>
        !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));

    /// <summary>
    /// Why a state-changing request looks sent by another site, or null. <c>same-site</c> is refused too: every other
    /// port of localhost is the same site, and this host's own pages post same-origin. No header (curl, the CLI, a
    /// script) and <c>none</c> (the user's own navigation) pass; an <c>Origin</c>, where sent, must name this host.
    /// </summary>
    private static string? CrossSite(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (string.Equals(site, "cross-site", StringComparison.OrdinalIgnoreCase) || string.Equals(site, "same-site", StringComparison.OrdinalIgnoreCase))
        {
            return $"Sec-Fetch-Site is {site}: this host takes {request.Method} requests only from its own pages (same-origin) or from outside a browser.";
        }

        var origin = request.Headers.Origin.ToString();
        return origin.Length == 0 || SameAuthority(origin, request)
            ? null
            : $"Origin '{origin}' is not this host ({request.Host}): this host takes {request.Method} requests only from its own pages.";
    }

    private static bool SameAuthority(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || !request.Host.HasValue)
        {
            return false; // "null" (a sandboxed or file page) or garbage
        }

        // A Host without a port is a default port, but of which scheme is unknown behind a TLS-terminating proxy that
        // forwards no X-Forwarded-Proto: then the name alone decides (another port of the same name is same-site, refused above).
        return string.Equals(uri.IdnHost.Trim('[', ']'), request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
            && (request.Host.Port is not { } port || uri.Port == port);
    }

    /// <summary>
    /// The admin caller a loopback request is, or why a loopback request gets no loopback trust (null, null: not
    /// loopback at all). Forwarded headers count only from a trusted proxy that ASP.NET's middleware applied them for;
    /// the client they name must then be loopback. The <c>Host</c> must be a loopback or configured name either way.
    /// </summary>
    private (AccessCaller? Caller, string? Refusal) LoopbackCaller(HttpContext context, AccessPeer peer)
    {
        if (peer.Address is not { } address)
        {
            return (null, null); // an in-process server: not assumed local
        }

        if (peer.ForwardedHeader is { } forwarded)
        {
            if (!IsTrustedProxy(address))
            {
                return (null, IPAddress.IsLoopback(address)
                    ? $"The request carries {forwarded} from {address}, which is not in Server:Access:TrustedProxies: a proxied request gets no loopback trust. Sign in, or list the proxy in Server:Access:TrustedProxies."
                    : null);
            }

            // The proxy's X-Forwarded-For was applied (and so removed): the client it names decides.
            var applied = peer.ForwardedFor && !context.Request.Headers.ContainsKey("X-Forwarded-For");
            if (!applied || context.Connection.RemoteIpAddress is not { } client || !IPAddress.IsLoopback(client))
            {
                return (null, null);
            }
        }
        else if (!IPAddress.IsLoopback(address))
        {
            return (null, null);
        }

        var host = context.Request.Host;
        return IsLoopbackName(host.Host)
            ? (AccessCaller.Loopback, null)
            : (null, $"Host '{host.Value}' is not a loopback name (localhost, 127.0.0.1, [::1]) nor one of Server:Access:AllowedHosts: a loopback caller gets no trust under another name (DNS rebinding). Sign in, or add the name to Server:Access:AllowedHosts.");
    }

    private bool IsLoopbackName(string host)
    {
        if (host.Length == 0)
        {
            return false;
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || _allowedHosts.Contains(host))
        {
            return true;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var literal) && IPAddress.IsLoopback(AccessNetworks.Normalise(literal));
    }

    private bool IsTrustedProxy(IPAddress address)
    {
        var normalised = AccessNetworks.Normalise(address);
        return _trustedProxies.Any(n => n.Contains(normalised));
    }

    /// <summary>The address failed sign-ins are counted against: the client a trusted proxy named, otherwise the peer itself (a forged X-Forwarded-For never buys a fresh budget).</summary>
    private IPAddress ClientAddress(HttpContext context, AccessPeer peer)
    {
        var address = peer.Address;
        if (peer.ForwardedFor && address is not null && IsTrustedProxy(address) && !context.Request.Headers.ContainsKey("X-Forwarded-For"))
        {
            address = context.Connection.RemoteIpAddress;
        }

        return address is null ? IPAddress.None : AccessNetworks.Normalise(address);
    }

    private AccessRole Required(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<AccessRoleRequirement>() is { } requirement)
        {
            return requirement.Role;
        }

        var request = context.Request;
        return !IsStateChanging(request.Method) || (HttpMethods.IsPost(request.Method) && _policy.ReadOnlyPosts.Any(p => request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
            ? AccessRole.ReadOnly
            : AccessRole.Admin;
    }

    /// <summary>The user or token the Authorization header names, or null. Every configured secret is compared, in constant time, whatever matched first.</summary>
    private AccessCaller? SignIn(string header)
    {
        AccessCaller? found = null;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var given = header["Bearer ".Length..].Trim();
            if (_access.Token is { Length: > 0 } token && SameText(given, token))
            {
                found = new AccessCaller("token", AccessRole.Admin, "Bearer");
            }

            for (var i = 0; i < _access.Tokens.Count; i++)
            {
                var t = _access.Tokens[i];
                if (t.Token is { Length: > 0 } secret && SameText(given, secret))
                {
                    found ??= new AccessCaller(t.Name ?? $"token {i}", t.Role, "Bearer");
                }
            }

            return found;
        }

        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return null;
        }

        var givenUser = decoded[..colon];
        var givenPassword = decoded[(colon + 1)..];
        if (_access.User is { } user && _access.Password is { } password && SameText(givenUser, user) & SameText(givenPassword, password))
        {
            found = new AccessCaller(user, AccessRole.Admin, "Basic");
        }

        foreach (var u in _access.Users)
        {
            // Both halves are compared, whatever the first result, so timing says nothing about which was wrong.
            if (u.Name is { } name && u.Password is { } secret && SameText(givenUser, name) & SameText(givenPassword, secret))
            {
                found ??= new AccessCaller(name, u.Role, "Basic");
            }
        }

        return found;
    }

    private static bool SameText(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    private async Task ChallengeAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        if (_access.User is not null || _access.Users.Count > 0)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Labeling\", charset=\"UTF-8\"";
        }

        await context.Response.WriteAsync("Sign in with a configured user and password, or send a configured bearer token.");
    }

    private async Task TooManyAsync(HttpContext context, RateLimitLease lease)
    {
        var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : _access.FailedSignIns.Window;
        var seconds = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.WriteAsync(
            $"Too many failed sign-ins from this address (Server:Access:FailedSignIns: {_access.FailedSignIns.Limit} per {_access.FailedSignIns.Window}); try again in {seconds} s.");
    }

    private async Task RefuseAsync(HttpContext context, IPAddress client, int status, string reason)
    {
        LogRefused(context.Request.Method, context.Request.Path, client, reason);
        context.Response.StatusCode = status;
        await context.Response.WriteAsync(reason);
    }

    [LoggerMessage(EventId = 5400, Level = LogLevel.Warning, Message = "Refused {Method} {Path} from {Client}: {Reason}")]
    private partial void LogRefused(string method, PathString path, IPAddress client, string reason);

    [LoggerMessage(EventId = 5401, Level = LogLevel.Warning, Message = "Failed sign-in from {Client} ({Method} {Path}).")]
    private partial void LogSignInFailed(IPAddress client, string method, PathString path);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Warning, Message = "Sign-ins from {Client} refused with 429: more than {Limit} failures within {Window}.")]
    private partial void LogLockedOut(IPAddress client, int limit, TimeSpan window);
}

/// <summary>
/// The connection's own peer address and the forwarded header it carried, taken before ASP.NET's forwarded headers
/// middleware (if on) replaces the remote address with whatever <c>X-Forwarded-For</c> says.
/// </summary>
internal sealed record AccessPeer(IPAddress? Address, string? ForwardedHeader, bool ForwardedFor)
{
    private static readonly string[] ForwardedHeaders = ["X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "Forwarded", "X-Real-IP", "X-Original-For", "X-Original-Host"];

    public static AccessPeer Of(HttpContext context)
    {
        var headers = context.Request.Headers;
        var remote = context.Connection.RemoteIpAddress;
        return new(remote is null ? null : AccessNetworks.Normalise(remote), ForwardedHeaders.FirstOrDefault(headers.ContainsKey), headers.ContainsKey("X-Forwarded-For"));
    }
}

internal static class AccessText
{
    public static string Of(AccessRole role) => role switch
    {
        AccessRole.ReadOnly => "read-only",
        AccessRole.Reviewer => "reviewer",
        _ => "admin",
    };
}

internal static class AccessNetworks
{
    /// <summary>An IPv4 address as a dual-mode socket reports it (<c>::ffff:127.0.0.1</c>) is the IPv4 address.</summary>
    public static IPAddress Normalise(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    public static bool TryParse(string text, out IPNetwork network)
    {
        var trimmed = text.Trim();
        if (IPAddress.TryParse(trimmed, out var address))
        {
            address = Normalise(address);
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return IPNetwork.TryParse(trimmed, out network);
    }

    public static IPNetwork[] Parse(string[]? entries) =>
        [.. (entries ?? []).Select(e => TryParse(e, out var n) ? (IPNetwork?)n : null).OfType<IPNetwork>()];
}
