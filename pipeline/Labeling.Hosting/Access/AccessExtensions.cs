using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Labeling.Hosting.Access;

/// <summary>The access gate's registrations, shared by every host (<c>labeling serve</c>, <c>labeling worker</c>, <c>labeling-worker</c>).</summary>
public static class AccessExtensions
{
    /// <summary>
    /// Binds and validates <see cref="AccessOptions"/> (<c>Server:Access</c>) at start, registers the gate, and takes each
    /// connection's own peer address before anything (ASP.NET's forwarded headers included) can rewrite it. With
    /// <see cref="AccessOptions.TrustedProxies"/> set, ASP.NET's forwarded headers middleware applies
    /// <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c> from those proxies only.
    /// </summary>
    public static IServiceCollection AddLabelingAccess(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AccessOptions>, AccessOptionsValidation>());
        services.AddOptions<AccessPolicy>();
        services.TryAddSingleton<AccessGate>();
        if (!services.Any(d => d.ServiceType == typeof(IStartupFilter) && d.ImplementationType == typeof(AccessPeerStartupFilter)))
        {
            // First in the list is outermost: before the forwarded headers filter that ASPNETCORE_FORWARDEDHEADERS_ENABLED adds.
            services.Insert(0, ServiceDescriptor.Transient<IStartupFilter, AccessPeerStartupFilter>());
        }

        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<AccessOptions>>((forwarded, access) =>
        {
            var proxies = AccessNetworks.Parse(access.Value.TrustedProxies);
            if (proxies.Length == 0)
            {
                return;
            }

            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in proxies)
            {
                forwarded.KnownIPNetworks.Add(proxy);
            }
        });
        return services;
    }

    /// <summary>Puts the gate in the pipeline: everything after it (but <c>/healthz</c> and <c>/readyz</c>) needs what <see cref="AccessOptions"/> says.</summary>
    public static IApplicationBuilder UseLabelingAccess(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<AccessGate>();
    }

    /// <summary>The endpoint needs at least <paramref name="role"/> (the default: read-only for GET, admin for other methods).</summary>
    public static TBuilder RequireAccessRole<TBuilder>(this TBuilder builder, AccessRole role)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AccessRoleRequirement(role));

    /// <summary>Whether ASP.NET applies forwarded headers from the environment (<c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c>), to every client.</summary>
    internal static bool ForwardedHeadersEnabled(IConfiguration configuration) =>
        string.Equals(configuration["FORWARDEDHEADERS_ENABLED"], "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Where the host will listen, from the settings Kestrel reads (<c>urls</c> / <c>--urls</c> / <c>ASPNETCORE_URLS</c>, <c>http_ports</c>, <c>Kestrel:Endpoints</c>); ASP.NET's default when none is set.</summary>
    internal static IReadOnlyList<string> BindAddresses(IConfiguration configuration)
    {
        var addresses = new List<string>();
        addresses.AddRange((configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var (key, scheme) in new[] { ("http_ports", "http"), ("https_ports", "https") })
        {
            addresses.AddRange((configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(port => $"{scheme}://*:{port}"));
        }

        addresses.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        return addresses.Count > 0 ? addresses : ["http://localhost:5000"];
    }

    /// <summary>Whether <paramref name="address"/> listens on loopback only (<c>localhost</c>, <c>127.x</c>, <c>[::1]</c>, a Unix socket); <c>0.0.0.0</c>, <c>*</c>, <c>[::]</c> and names do not.</summary>
    internal static bool IsLoopbackBind(string address)
    {
        BindingAddress parsed;
        try
        {
            parsed = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return false;
        }

        if (parsed.IsUnixPipe || string.Equals(parsed.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(parsed.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(AccessNetworks.Normalise(ip));
    }

    /// <summary>Notes each connection's own peer first; then, with trusted proxies and no environment switch, applies their forwarded headers.</summary>
    private sealed class AccessPeerStartupFilter(IConfiguration configuration, IOptions<AccessOptions> access) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Features.Set(AccessPeer.Of(context));
                return nextMiddleware(context);
            });
            if (AccessNetworks.Parse(access.Value.TrustedProxies).Length > 0 && !ForwardedHeadersEnabled(configuration))
            {
                app.UseForwardedHeaders();
            }

            next(app);
        };
    }
}
