using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Labeling.Hosting.Access;

/// <summary>
/// Bad access settings stop the start, one line each naming the setting: credentials that nobody could use or guess too
/// easily, entries that are not addresses or names, and two combinations that would open the host to the network — a
/// password over plain HTTP, and forwarded headers that any client could write without any sign-in.
/// </summary>
internal sealed class AccessOptionsValidation(IConfiguration configuration) : IValidateOptions<AccessOptions>
{
    private const string S = AccessOptions.Section;

    public ValidateOptionsResult Validate(string? name, AccessOptions o)
    {
        var failures = new List<string>();
        if ((o.User is null) != (o.Password is null))
        {
            failures.Add($"{S}:User and {S}:Password go together.");
        }

        if (o.Password is { Length: < 8 })
        {
            failures.Add($"{S}:Password needs at least 8 characters.");
        }

        if (o.Token is { Length: < 16 })
        {
            failures.Add($"{S}:Token needs at least 16 characters.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        if (o.User is { } single)
        {
            names.Add(single);
        }

        for (var i = 0; i < o.Users.Count; i++)
        {
            var user = o.Users[i];
            if (string.IsNullOrWhiteSpace(user.Name) || user.Name.Contains(':', StringComparison.Ordinal))
            {
                failures.Add($"{S}:Users:{i}:Name is needed, without ':'.");
            }
            else if (!names.Add(user.Name))
            {
                failures.Add($"{S}:Users:{i}:Name '{user.Name}' is already a user.");
            }

            if (user.Password is not { Length: >= 8 })
            {
                failures.Add($"{S}:Users:{i}:Password needs at least 8 characters.");
            }

        }

        var tokens = new HashSet<string>(StringComparer.Ordinal);
        if (o.Token is { } token)
        {
            tokens.Add(token);
        }

        for (var i = 0; i < o.Tokens.Count; i++)
        {
            var t = o.Tokens[i];
            if (t.Token is not { Length: >= 16 })
            {
                failures.Add($"{S}:Tokens:{i}:Token needs at least 16 characters.");
            }
            else if (!tokens.Add(t.Token))
            {
                failures.Add($"{S}:Tokens:{i}:Token is already another token.");
            }

        }

        CheckRoles(failures, "Users");
        CheckRoles(failures, "Tokens");
        if (!o.AllowLoopback && !o.HasCredentials)
        {
            failures.Add($"{S}:AllowLoopback false needs {S}:User and Password, or Token (or Users, Tokens): nobody could sign in.");
        }

        for (var i = 0; i < (o.TrustedProxies?.Length ?? 0); i++)
        {
            if (!AccessNetworks.TryParse(o.TrustedProxies![i], out _))
            {
                failures.Add($"{S}:TrustedProxies:{i} '{o.TrustedProxies[i]}' is not an IP address or network (10.0.0.5, 10.0.0.0/24).");
            }
        }

        for (var i = 0; i < (o.AllowedHosts?.Length ?? 0); i++)
        {
            var host = o.AllowedHosts![i];
            if (Uri.CheckHostName(host) is UriHostNameType.Unknown || host.Contains(':', StringComparison.Ordinal))
            {
                failures.Add($"{S}:AllowedHosts:{i} '{host}' is not a host name (a name alone: no scheme, port or path).");
            }
        }

        if (o.FailedSignIns.Limit is < 1 or > 10_000)
        {
            failures.Add($"{S}:FailedSignIns:Limit must be 1–10000 (failed sign-ins per client address per window).");
        }

        if (o.FailedSignIns.Window < TimeSpan.FromSeconds(1) || o.FailedSignIns.Window > TimeSpan.FromDays(1))
        {
            failures.Add($"{S}:FailedSignIns:Window must be 1 second to 1 day.");
        }

        var exposed = AccessExtensions.BindAddresses(configuration).Where(a => !AccessExtensions.IsLoopbackBind(a)).ToList();
        var plain = exposed.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        if (o.HasCredentials && !o.AllowInsecureHttp && plain is not null)
        {
            failures.Add($"{S} has credentials but the host listens on {plain}, plain HTTP beyond loopback: passwords and tokens would cross the network in clear text. "
                + $"Listen on https://, or on loopback behind a TLS proxy, or set {S}:AllowInsecureHttp=true.");
        }

        if (AccessExtensions.ForwardedHeadersEnabled(configuration) && !o.HasCredentials && exposed.Count > 0)
        {
            failures.Add($"Forwarded headers are on (ASPNETCORE_FORWARDEDHEADERS_ENABLED / FORWARDEDHEADERS_ENABLED) and the host listens on {exposed[0]}, beyond loopback, "
                + $"with no {S} credentials: any client could claim any address. Configure {S}:User and Password, or Token (or Users, Tokens), or listen on loopback only.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// The roles as written: the binder drops a list entry whose role it cannot read (the user or token would silently
    /// not exist), so the text itself is checked.
    /// </summary>
    private void CheckRoles(List<string> failures, string list)
    {
        foreach (var entry in configuration.GetSection($"{S}:{list}").GetChildren())
        {
            var text = entry["Role"];
            if (text is not null && !(Enum.TryParse<AccessRole>(text, ignoreCase: true, out var role) && Enum.IsDefined(role)))
            {
                failures.Add($"{S}:{list}:{entry.Key}:Role must be ReadOnly, Reviewer or Admin, not '{text}'.");
            }
        }
    }
}
