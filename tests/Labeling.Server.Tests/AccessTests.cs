using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Labeling.Hosting.Access;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Server.Tests;

/// <summary>Who gets into the dashboard, the API and the review page.</summary>
public sealed class AccessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpContext Request(string? remote, string? authorization = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = remote is null ? null : IPAddress.Parse(remote);
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        return context;
    }

    /// <summary>This machine's first non-loopback IPv4 address: listening and calling there makes a request that is not from loopback.</summary>
    internal static IPAddress LanAddress()
    {
        var lan = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(lan is not null, "This test needs a non-loopback IPv4 address on the machine to call the host from 'outside'.");
        return lan;
    }

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>The gate's answer to a GET of <c>/api/progress</c>: 200 when it lets the request through.</summary>
    private static async Task<int> StatusAsync(HttpContext context, AccessOptions access)
    {
        using var gate = new AccessGate(Options.Create(access), Options.Create(new AccessPolicy()), NullLogger<AccessGate>.Instance);
        context.Request.Method = "GET";
        context.Request.Path = "/api/progress";
        if (!context.Request.Host.HasValue)
        {
            context.Request.Host = new HostString("127.0.0.1", 5080);
        }

        var passed = false;
        await gate.InvokeAsync(context, _ =>
        {
            passed = true;
            return Task.CompletedTask;
        });
        return passed ? StatusCodes.Status200OK : context.Response.StatusCode;
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public async Task Loopback_IsLetIn(string remote) => Assert.Equal(200, await StatusAsync(Request(remote), new AccessOptions()));

    [Theory]
    [InlineData("192.0.2.7")]
    [InlineData("10.0.0.1")]
    [InlineData("::ffff:192.0.2.7")]
    [InlineData(null)] // an in-process server: not assumed local
    public async Task Remote_WithNothingConfigured_IsRefused(string? remote) => Assert.Equal(403, await StatusAsync(Request(remote), new AccessOptions()));

    [Fact]
    public async Task Remote_WithTheRightCredentials_IsLetIn_AndWithWrongOnes_Refused()
    {
        var access = new AccessOptions { User = "ana", Password = "correct horse", Token = "0123456789abcdef0123", FailedSignIns = new() { Limit = 100 } };
        Assert.Equal(200, await StatusAsync(Request("192.0.2.7", Basic("ana", "correct horse")), access));
        Assert.Equal(200, await StatusAsync(Request("192.0.2.7", "Bearer 0123456789abcdef0123"), access));
        foreach (var wrong in new[]
        {
            Basic("ana", "wrong"), Basic("bob", "correct horse"), Basic("", "correct horse"), "Basic ana:correct horse", "Basic !!!",
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("no colon")), "Bearer 0123456789abcdef012", "Bearer ", "Token 0123456789abcdef0123", "",
        })
        {
            Assert.True(await StatusAsync(Request("192.0.2.7", wrong), access) == 401, wrong);
        }
    }

    [Fact]
    public async Task BehindAProxy_LoopbackCanBeMadeToSignInToo()
    {
        var access = new AccessOptions { AllowLoopback = false, Token = "0123456789abcdef0123" };
        Assert.Equal(401, await StatusAsync(Request("127.0.0.1"), access));
        Assert.Equal(200, await StatusAsync(Request("127.0.0.1", "Bearer 0123456789abcdef0123"), access));
    }

    [Fact]
    public async Task LoopbackOff_WithNoCredentials_StopsTheStart()
    {
        await using var workspace = new Workspace(new { Access = new { AllowLoopback = false } });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => workspace.StartHostAsync());
        Assert.Contains("nobody could sign in", string.Join(" ", e.Failures));
    }

    [Theory]
    [InlineData("ana", null, "go together")]
    [InlineData("ana", "short", "at least 8")]
    public async Task BadAccessSettings_StopTheStart(string user, string? password, string expected)
    {
        await using var workspace = new Workspace(new { Access = new { User = user, Password = password } });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => workspace.StartHostAsync());
        Assert.Contains(expected, string.Join(" ", e.Failures));
    }

    /// <summary>A real request from a non-loopback address: the host listens on this machine's LAN address and is called through it.</summary>
    [Fact]
    public async Task RealRemoteRequest_NeedsCredentials_ButHealthProbesDoNot()
    {
        var lan = LanAddress();

        await using var workspace = new Workspace(new { Access = new { User = "ana", Password = "correct horse", AllowInsecureHttp = true } });
        var (_, address) = await workspace.StartHostAsync(url: $"http://{lan}:0");
        using var http = new HttpClient { BaseAddress = address };

        using var refused = await http.GetAsync("/hangfire", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Basic", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/progress", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/review", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz", Ct)).StatusCode);

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ana:correct horse")));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/hangfire", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/progress", Ct)).StatusCode);
    }

    [Fact]
    public async Task RealRemoteRequest_WithNoAccessConfigured_IsForbidden_WithTheSettingToSet()
    {
        var lan = LanAddress();

        await using var workspace = new Workspace();
        var (_, address) = await workspace.StartHostAsync(url: $"http://{lan}:0");
        using var http = new HttpClient { BaseAddress = address };
        using var response = await http.GetAsync("/hangfire", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Server:Access:User", await response.Content.ReadAsStringAsync(Ct));
    }
}
