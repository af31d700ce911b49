using Microsoft.AspNetCore.Http;

namespace Labeling.Hosting.Access;

/// <summary>Who passed the gate: a name for the logs, the role, and how (<c>Loopback</c>, <c>Basic</c>, <c>Bearer</c>).</summary>
public sealed record AccessCaller(string Name, AccessRole Role, string How)
{
    /// <summary>A loopback caller with a loopback Host: admin.</summary>
    public static AccessCaller Loopback { get; } = new("loopback", AccessRole.Admin, "Loopback");

    /// <summary>The caller of a request that passed the gate, or null (a health probe, or a host without the gate).</summary>
    public static AccessCaller? Of(HttpContext context) => context.Features.Get<AccessCaller>();
}

/// <summary>The role an endpoint needs, beyond the default (GET: read-only; any other method: admin).</summary>
public sealed record AccessRoleRequirement(AccessRole Role);

/// <summary>What a host adds to the gate's defaults.</summary>
public sealed class AccessPolicy
{
    /// <summary>POSTs that only read (the Hangfire dashboard polls its counters with one): a read-only caller may send them.</summary>
    public IList<PathString> ReadOnlyPosts { get; } = [];
}
