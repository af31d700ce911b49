using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Labeling.Hosting.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Labeling.Server.Tests;

/// <summary>
/// The access gate against what a browser page or a forged header can do to a host on loopback: DNS rebinding (a foreign
/// <c>Host</c>), cross-site commands (<c>Sec-Fetch-Site</c>, <c>Origin</c>), forwarded headers that fake a loopback caller,
/// credentials over plain HTTP, guessed passwords, and roles. Every request goes to a real Kestrel host on a free port.
/// </summary>
public sealed class AccessHardeningTests
{
    private const string Rebind = "rebind.example";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>Sends <paramref name="method"/> <paramref name="path"/> with <paramref name="headers"/>; status, body and the response.</summary>
    private static async Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> SendAsync(
        HttpClient http, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            if (name == "Host")
            {
                request.Headers.Host = value;
            }
            else
            {
                Assert.True(request.Headers.TryAddWithoutValidation(name, value), name);
            }
        }

        using var response = await http.SendAsync(request, Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct), response.Headers);
    }

    private static Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> GetAsync(HttpClient http, string path, params (string, string)[] headers) =>
        SendAsync(http, HttpMethod.Get, path, headers);

    private static Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> PostAsync(HttpClient http, string path, params (string, string)[] headers) =>
        SendAsync(http, HttpMethod.Post, path, headers);

    private static readonly string[] GatedPages = ["/api/progress", "/api/images", "/api/images/1/content", "/review", "/hangfire", "/hangfire/datasets", "/openapi/v1.json"];

    [Fact]
    public async Task LoopbackCaller_WithAForeignHost_IsRefused_OnEveryPage_ButHealthProbesAnswer()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        var port = address.Port;

        foreach (var page in GatedPages)
        {
            var refused = await GetAsync(http, page, ("Host", $"{Rebind}:{port}"));
            Assert.True(refused.Status == HttpStatusCode.Forbidden, $"GET {page} with Host {Rebind}:{port} answered {(int)refused.Status}, not 403: {refused.Body[..Math.Min(200, refused.Body.Length)]}");
            Assert.Contains($"Host '{Rebind}:{port}'", refused.Body, StringComparison.Ordinal);
            Assert.Contains("Server:Access:AllowedHosts", refused.Body, StringComparison.Ordinal);
        }

        foreach (var host in new[] { $"localhost:{port}", $"127.0.0.1:{port}", "LOCALHOST", $"[::1]:{port}" })
        {
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("Host", host))).Status);
        }

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/healthz", ("Host", Rebind))).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/readyz", ("Host", Rebind))).Status);
    }

    [Fact]
    public async Task LoopbackCaller_WithAConfiguredHostName_GetsIn_AndOtherNamesDoNot()
    {
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Access = new { AllowedHosts = new[] { "labeling.internal" } } });
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("Host", $"labeling.internal:{address.Port}"))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, "/api/progress", ("Host", $"{Rebind}:{address.Port}"))).Status);

        // Behind a TLS-terminating proxy the Host has no port and the scheme is not forwarded: the name decides the Origin check.
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, "/api/datasets/nope/pause", ("Host", "labeling.internal"), ("Origin", "https://labeling.internal"))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(http, "/api/datasets/nope/pause", ("Host", "labeling.internal"), ("Origin", "https://evil.example"))).Status);
    }

    [Fact]
    public async Task Ipv6Loopback_WithItsOwnHost_GetsIn_AndWithAForeignHost_IsRefused()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync(url: "http://[::1]:0");
        Assert.Equal("[::1]", address.Host);
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/hangfire")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, "/api/progress", ("Host", $"{Rebind}:{address.Port}"))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, "/hangfire", ("Host", $"{Rebind}:{address.Port}"))).Status);
    }

    /// <summary>A dual-mode socket (<c>[::]</c>) reports an IPv4 loopback caller as <c>::ffff:127.0.0.1</c>.</summary>
    [Fact]
    public async Task Ipv4MappedLoopback_OnADualModeSocket_GetsIn_AndWithAForeignHost_IsRefused()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync(url: "http://[::]:0");
        Assert.Equal("127.0.0.1", address.Host);
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("Host", $"[::ffff:127.0.0.1]:{address.Port}"))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, "/api/progress", ("Host", $"{Rebind}:{address.Port}"))).Status);
    }

    /// <summary>The verified attack: a page under a rebound name loads the dashboard, takes its token, and posts a command with its own Host and Origin.</summary>
    [Fact]
    public async Task DashboardCommand_FromARebindingPage_IsRefused()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        var page = await GetAsync(http, "/hangfire/datasets", ("Host", "evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, page.Status);

        var command = await DashboardCommand.SendAsync(http, "/hangfire/datasets/pause/nope", page: "/hangfire/datasets",
            headers: h => { h.Host = "evil.example"; h.Add("Origin", "http://evil.example"); h.Add("Sec-Fetch-Site", "same-origin"); });
        Assert.Equal(HttpStatusCode.Forbidden, command.Status);
        Assert.Contains("Host 'evil.example'", command.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CrossSiteAndSameSite_StateChangingRequests_AreRefused_SameOriginAndNonBrowserCallsAreTaken()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        foreach (var site in new[] { "cross-site", "same-site" })
        {
            var refused = await PostAsync(http, "/api/datasets/nope/pause", ("Sec-Fetch-Site", site));
            Assert.True(refused.Status == HttpStatusCode.Forbidden, $"POST with Sec-Fetch-Site {site} answered {(int)refused.Status}: {refused.Body}");
            Assert.Contains($"Sec-Fetch-Site is {site}", refused.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, HttpMethod.Delete, "/api/datasets/nope", ("Sec-Fetch-Site", site))).Status);

            var command = await DashboardCommand.SendAsync(http, "/hangfire/datasets/pause/nope", page: "/hangfire/datasets", headers: h => h.Add("Sec-Fetch-Site", site));
            Assert.Equal(HttpStatusCode.Forbidden, command.Status);
            Assert.Contains($"Sec-Fetch-Site is {site}", command.Body, StringComparison.Ordinal);
        }

        // Reaching the endpoint: 404 for the unknown dataset, 422 for the dashboard's stale name.
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, "/api/datasets/nope/pause", ("Sec-Fetch-Site", "same-origin"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, "/api/datasets/nope/pause", ("Sec-Fetch-Site", "none"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, "/api/datasets/nope/pause")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity,
            (await DashboardCommand.SendAsync(http, "/hangfire/datasets/pause/nope", page: "/hangfire/datasets", headers: h => h.Add("Sec-Fetch-Site", "same-origin"))).Status);
        // A cross-site GET reads nothing a browser would hand to the other site: not refused.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("Sec-Fetch-Site", "cross-site"))).Status);
    }

    [Fact]
    public async Task ForeignOrigin_OnAStateChangingRequest_IsRefused_TheHostsOwnOriginIsTaken()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        foreach (var origin in new[] { "http://evil.example", $"http://evil.example:{address.Port}", $"http://localhost:{address.Port + 1}", "null" })
        {
            var refused = await PostAsync(http, "/api/datasets/nope/pause", ("Origin", origin));
            Assert.True(refused.Status == HttpStatusCode.Forbidden, $"POST with Origin {origin} answered {(int)refused.Status}: {refused.Body}");
            Assert.Contains($"Origin '{origin}'", refused.Body, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, "/api/datasets/nope/pause", ("Origin", $"http://127.0.0.1:{address.Port}"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, "/api/datasets/nope/pause", ("Origin", $"http://localhost:{address.Port}"), ("Host", $"localhost:{address.Port}"))).Status);
    }

    [Fact]
    public async Task ForgedForwardedHeaders_FromLoopback_GetNoLoopbackTrust()
    {
        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        foreach (var header in new[] { ("X-Forwarded-For", "127.0.0.1"), ("Forwarded", "for=127.0.0.1"), ("X-Forwarded-Host", "localhost") })
        {
            var refused = await GetAsync(http, "/api/progress", header);
            Assert.True(refused.Status == HttpStatusCode.Forbidden, $"GET with {header.Item1}: {header.Item2} answered {(int)refused.Status}");
            Assert.Contains("Server:Access:TrustedProxies", refused.Body, StringComparison.Ordinal);
        }
    }

    /// <summary>With ASP.NET's forwarded headers on from the environment, any client's <c>X-Forwarded-For</c> becomes the remote address.</summary>
    [Fact]
    public async Task ForwardedHeadersOn_AForgedLoopbackXForwardedFor_FromTheNetwork_StillNeedsCredentials()
    {
        var lan = AccessTests.LanAddress();
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Access = new { User = "ana", Password = "correct horse", AllowInsecureHttp = true } });
        var (_, address) = await workspace.StartHostAsync(b => b.Configuration["FORWARDEDHEADERS_ENABLED"] = "true", url: $"http://{lan}:0");
        using var http = new HttpClient { BaseAddress = address };

        var forged = await GetAsync(http, "/api/progress", ("X-Forwarded-For", "127.0.0.1"));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("X-Forwarded-For", "127.0.0.1"), ("Authorization", Basic("ana", "correct horse")))).Status);
    }

    [Fact]
    public async Task TrustedProxy_ForwardingALoopbackClient_GetsLoopbackTrust_AndAnyOtherClientDoesNot()
    {
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Access = new { TrustedProxies = new[] { "127.0.0.1" } } });
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("X-Forwarded-For", "127.0.0.1"))).Status);
        var other = await GetAsync(http, "/api/progress", ("X-Forwarded-For", "203.0.113.9"));
        Assert.Equal(HttpStatusCode.Forbidden, other.Status);
        Assert.Contains("Remote access is off", other.Body, StringComparison.Ordinal);
        // The proxy's forwarded Host decides like a direct caller's.
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, "/api/progress", ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Host", Rebind))).Status);
    }

    [Fact]
    public async Task ForwardedHeadersOn_WithoutCredentials_OnANetworkBind_StopsTheStart()
    {
        var lan = AccessTests.LanAddress();
        await using var workspace = new Workspace();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            workspace.StartHostAsync(b => b.Configuration["FORWARDEDHEADERS_ENABLED"] = "true", url: $"http://{lan}:0"));
        Assert.Contains("FORWARDEDHEADERS_ENABLED", string.Join(" ", e.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_OnAPlainHttpNetworkBind_StopTheStart_UnlessAllowInsecureHttp()
    {
        var lan = AccessTests.LanAddress();
        await using (var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Access = new { Token = "0123456789abcdef0123" } }))
        {
            var e = await Assert.ThrowsAsync<OptionsValidationException>(() => workspace.StartHostAsync(url: $"http://{lan}:0"));
            Assert.Contains("Server:Access:AllowInsecureHttp", string.Join(" ", e.Failures), StringComparison.Ordinal);
            // On loopback the credentials never cross the network: no objection.
            await workspace.StartHostAsync();
        }

        await using var allowed = new Workspace(new { Jobs = Workspace.QuietJobs, Access = new { Token = "0123456789abcdef0123", AllowInsecureHttp = true } });
        var (_, address) = await allowed.StartHostAsync(url: $"http://{lan}:0");
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/api/progress", ("Authorization", "Bearer 0123456789abcdef0123"))).Status);
    }

    /// <summary>Two clients of one dual-mode host: 127.0.0.1 (as <c>::ffff:127.0.0.1</c>) guesses until locked out; the LAN address keeps its own budget.</summary>
    [Fact]
    public async Task FailedSignIns_AreLimited_With429AndRetryAfter_PerClientAddress()
    {
        var lan = AccessTests.LanAddress();
        await using var workspace = new Workspace(new
        {
            Jobs = Workspace.QuietJobs,
            Access = new { AllowLoopback = false, User = "ana", Password = "correct horse", AllowInsecureHttp = true, FailedSignIns = new { Limit = 3, Window = "00:10:00" } },
        });
        var (_, address) = await workspace.StartHostAsync(url: "http://[::]:0");
        using var local = new HttpClient { BaseAddress = address };
        using var fromLan = new HttpClient { BaseAddress = new Uri($"http://{lan}:{address.Port}") };

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(local, "/api/progress", ("Authorization", Basic("ana", "guess " + i)))).Status);
        }

        var limited = await GetAsync(local, "/api/progress", ("Authorization", Basic("ana", "guess 4")));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.True(limited.Headers.RetryAfter?.Delta is { TotalSeconds: > 0 and <= 600 }, $"Retry-After: {limited.Headers.RetryAfter}");
        Assert.Contains("Server:Access:FailedSignIns", limited.Body, StringComparison.Ordinal);
        // Locked out, even the right password is not tried.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAsync(local, "/api/progress", ("Authorization", Basic("ana", "correct horse")))).Status);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(fromLan, "/api/progress", ("Authorization", Basic("ana", "correct horse")))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(fromLan, "/api/progress", ("Authorization", Basic("ana", "guess")))).Status);
    }

    [Fact]
    public async Task Roles_ReadOnlyReads_AdminCommands_AndTheSingleUserAndTokenStayAdmin()
    {
        await using var workspace = new Workspace(new
        {
            Jobs = Workspace.QuietJobs,
            Access = new
            {
                AllowLoopback = false,
                User = "root",
                Password = "legacy password",
                Token = "legacy-token-0123456789",
                Users = new object[]
                {
                    new { Name = "rita", Password = "read only password", Role = "ReadOnly" },
                    new { Name = "ada", Password = "admin password", Role = "Admin" },
                },
                Tokens = new object[] { new { Name = "grafana", Token = "read-only-token-0123456789", Role = "ReadOnly" } },
            },
        });
        var (_, address) = await workspace.StartHostAsync();

        using var rita = Client(address, Basic("rita", "read only password"));
        foreach (var page in new[] { "/api/progress", "/api/datasets", "/review", "/hangfire", "/hangfire/datasets" })
        {
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(rita, page)).Status);
        }

        // The dashboard polls its counters with a POST: a read.
        Assert.Equal(HttpStatusCode.OK, await DashboardCommand.PostAsync(rita, "/hangfire/stats", new FormUrlEncodedContent([new("metrics[]", "enqueued:count")]), page: "/hangfire"));
        var api = await PostAsync(rita, "/api/datasets/nope/pause");
        Assert.Equal(HttpStatusCode.Forbidden, api.Status);
        Assert.Contains("rita has the read-only role", api.Body, StringComparison.Ordinal);
        Assert.Contains("needs admin", api.Body, StringComparison.Ordinal);
        var command = await DashboardCommand.SendAsync(rita, "/hangfire/datasets/pause/nope", page: "/hangfire/datasets");
        Assert.Equal(HttpStatusCode.Forbidden, command.Status);
        Assert.Contains("needs admin", command.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, await DashboardCommand.PostAsync(rita, "/hangfire/recurring/trigger", new FormUrlEncodedContent([new("jobs[]", "scan-inbox")]), page: "/hangfire/recurring"));
        // The read-only dashboard shows no command buttons.
        Assert.DoesNotContain("data-testid=\"dataset-pause\"", await rita.GetStringAsync("/hangfire/datasets", Ct), StringComparison.Ordinal);

        using var grafana = Client(address, "Bearer read-only-token-0123456789");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(grafana, "/api/progress")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(grafana, "/api/datasets/nope/pause")).Status);

        foreach (var admin in new[] { Basic("ada", "admin password"), Basic("root", "legacy password"), "Bearer legacy-token-0123456789" })
        {
            using var client = Client(address, admin);
            Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(client, "/api/datasets/nope/pause")).Status);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, await DashboardCommand.PostAsync(client, "/hangfire/datasets/pause/nope", page: "/hangfire/datasets"));
        }

        using var wrong = Client(address, Basic("rita", "admin password"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(wrong, "/api/progress")).Status);
    }

    /// <summary>
    /// No reviewer endpoint exists yet (step 15's corrections): the policy is tested on a write the test maps the way
    /// those endpoints will be, with <c>RequireAccessRole(AccessRole.Reviewer)</c>.
    /// </summary>
    [Fact]
    public async Task ReviewerRole_MayWriteReviewerEndpoints_ButNotAdminOnes_ReadOnlyMayDoNeither()
    {
        await using var workspace = new Workspace(new
        {
            Jobs = Workspace.QuietJobs,
            Access = new
            {
                AllowLoopback = false,
                Users = new object[]
                {
                    new { Name = "rita", Password = "read only password", Role = "ReadOnly" },
                    new { Name = "rev", Password = "reviewer password", Role = "Reviewer" },
                    new { Name = "ada", Password = "admin password", Role = "Admin" },
                },
            },
        });
        var (_, address) = await workspace.StartHostAsync(map: app =>
            app.MapPost("/api/test-corrections", () => Microsoft.AspNetCore.Http.Results.NoContent()).RequireAccessRole(AccessRole.Reviewer));

        using var rita = Client(address, Basic("rita", "read only password"));
        using var rev = Client(address, Basic("rev", "reviewer password"));
        using var ada = Client(address, Basic("ada", "admin password"));
        var refused = await PostAsync(rita, "/api/test-corrections");
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("rita has the read-only role; POST /api/test-corrections needs reviewer", refused.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(rev, "/api/test-corrections")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(ada, "/api/test-corrections")).Status);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(rev, "/review")).Status);
        var admin = await PostAsync(rev, "/api/datasets/nope/pause");
        Assert.Equal(HttpStatusCode.Forbidden, admin.Status);
        Assert.Contains("rev has the reviewer role", admin.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Users", "Password", "at least 8")]
    [InlineData("Users", "Role", "Role")]
    [InlineData("Tokens", "Token", "at least 16")]
    [InlineData("TrustedProxies", null, "TrustedProxies")]
    [InlineData("AllowedHosts", null, "AllowedHosts")]
    [InlineData("FailedSignIns", null, "FailedSignIns")]
    public async Task BadRoleAndProxySettings_StopTheStart(string setting, string? field, string expected)
    {
        object access = (setting, field) switch
        {
            ("Users", "Password") => new { Users = new object[] { new { Name = "rita", Password = "short", Role = "ReadOnly" } } },
            ("Users", "Role") => new { Users = new object[] { new { Name = "rita", Password = "long enough", Role = "Owner" } } },
            ("Tokens", _) => new { Tokens = new object[] { new { Name = "t", Token = "short", Role = "Admin" } } },
            ("TrustedProxies", _) => new { TrustedProxies = new[] { "not an address" } },
            ("AllowedHosts", _) => new { AllowedHosts = new[] { "bad host/name" } },
            _ => new { FailedSignIns = new { Limit = 0 } },
        };
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Access = access });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => workspace.StartHostAsync());
        var message = e is OptionsValidationException v ? string.Join(" ", v.Failures) : e.Message;
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("Server:Access", message, StringComparison.Ordinal);
    }

    private static HttpClient Client(Uri address, string authorization)
    {
        var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(authorization);
        return http;
    }
}
