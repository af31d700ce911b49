namespace Labeling.Hosting.Access;

/// <summary>
/// Who may use a host's pages (dashboard, API, review page, worker counters), bound from <c>Server:Access</c> by every
/// host (<c>labeling serve</c>, <c>labeling worker</c>, <c>labeling-worker</c>) and validated at start. A loopback
/// caller that names this host by a loopback (or configured) name and came through no unconfigured proxy is admin;
/// others sign in with a user and password (HTTP Basic) or a bearer token, each with a role.
/// </summary>
public sealed class AccessOptions
{
    public const string Section = "Server:Access";

    /// <summary>
    /// Let loopback callers in as admin without credentials (default). Turn off behind a reverse proxy on the same machine
    /// that is not listed in <see cref="TrustedProxies"/>, where every request arrives from loopback.
    /// </summary>
    public bool AllowLoopback { get; set; } = true;

    /// <summary>
    /// Host names, besides <c>localhost</c>, <c>127.0.0.1</c> and <c>[::1]</c>, that a loopback caller may put in its
    /// <c>Host</c> header (any port). Any other name gets no loopback trust: a page that rebinds its own name to
    /// 127.0.0.1 (DNS rebinding) is refused.
    /// </summary>
    public string[]? AllowedHosts { get; set; }

    /// <summary>
    /// Addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/24</c>) of reverse proxies whose <c>X-Forwarded-For</c>,
    /// <c>X-Forwarded-Proto</c> and <c>X-Forwarded-Host</c> this host applies. A request with forwarded headers from any
    /// other peer gets no loopback trust, whatever it claims.
    /// </summary>
    public string[]? TrustedProxies { get; set; }

    /// <summary>Let credentials be configured on a plain <c>http://</c> address other than loopback (default false: the start refuses, since a password would cross the network in clear text).</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>The single Basic user (admin); goes with <see cref="Password"/>.</summary>
    public string? User { get; set; }

    /// <summary>The single user's password, at least 8 characters.</summary>
    public string? Password { get; set; }

    /// <summary>The single bearer token (admin), at least 16 characters.</summary>
    public string? Token { get; set; }

    /// <summary>More Basic users, each with a role (<c>Server:Access:Users:0:Name</c>, <c>…:Password</c>, <c>…:Role</c>).</summary>
    public List<AccessUser> Users { get; set; } = [];

    /// <summary>More bearer tokens, each with a role (<c>Server:Access:Tokens:0:Token</c>, <c>…:Role</c>, <c>…:Name</c> for the logs).</summary>
    public List<AccessToken> Tokens { get; set; } = [];

    /// <summary>How many failed sign-ins a client address may make before it gets 429.</summary>
    public FailedSignInOptions FailedSignIns { get; set; } = new();

    /// <summary>Whether any user or token is configured: someone could sign in.</summary>
    public bool HasCredentials => User is not null || Token is not null || Users.Count > 0 || Tokens.Count > 0;
}

/// <summary>What a signed-in caller may do; each role includes the ones before it.</summary>
public enum AccessRole
{
    /// <summary>GETs of the API, the review page, the dashboard's pages and the worker counters.</summary>
    ReadOnly,

    /// <summary>Read-only plus the review page's corrections (endpoints marked <c>RequireAccessRole(AccessRole.Reviewer)</c>).</summary>
    Reviewer,

    /// <summary>Everything: dashboard commands (trigger, delete, requeue, promote…), dataset control POSTs.</summary>
    Admin,
}

/// <summary>One Basic user of <see cref="AccessOptions.Users"/>.</summary>
public sealed class AccessUser
{
    public string? Name { get; set; }

    /// <summary>At least 8 characters.</summary>
    public string? Password { get; set; }

    /// <summary>Default <see cref="AccessRole.ReadOnly"/>: a user configured without a role can do the least.</summary>
    public AccessRole Role { get; set; } = AccessRole.ReadOnly;
}

/// <summary>One bearer token of <see cref="AccessOptions.Tokens"/>.</summary>
public sealed class AccessToken
{
    /// <summary>What the logs call its holder (default <c>token N</c>).</summary>
    public string? Name { get; set; }

    /// <summary>At least 16 characters.</summary>
    public string? Token { get; set; }

    /// <summary>Default <see cref="AccessRole.ReadOnly"/>.</summary>
    public AccessRole Role { get; set; } = AccessRole.ReadOnly;
}

/// <summary>The failed sign-in limit: at most <see cref="Limit"/> failures per client address per <see cref="Window"/>; past it, 429 with <c>Retry-After</c> and no credential is checked until the window ends.</summary>
public sealed class FailedSignInOptions
{
    /// <summary>Failures per window per address (1–10,000, default 10).</summary>
    public int Limit { get; set; } = 10;

    /// <summary>The window (1 s – 1 day, default 1 minute).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
