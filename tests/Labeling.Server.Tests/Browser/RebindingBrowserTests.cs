using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Labeling.Server.Tests.Browser;

/// <summary>
/// DNS rebinding in a real browser: chromium resolves <c>rebind.example</c> to 127.0.0.1 (as a rebound name would), so
/// its pages are another site's pages reaching this host on loopback, with the headers the browser itself sets
/// (<c>Host</c>, <c>Origin</c>, <c>Sec-Fetch-Site</c>).
/// </summary>
public sealed class RebindingBrowserTests : IAsyncLifetime
{
    private const string Rebound = "rebind.example";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Assert.True(File.Exists(BrowserFixture.ChromiumPath), $"Debian's chromium is missing ({BrowserFixture.ChromiumPath}): run infra/local/install.sh.");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserFixture.ChromiumPath,
            Headless = true,
            Args = [.. BrowserFixture.Flags, $"--host-resolver-rules=MAP {Rebound} 127.0.0.1"],
            Timeout = 30_000,
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    [Fact]
    public async Task APageUnderAReboundName_CanNeitherReadTheHost_NorCommandIt()
    {
        await using var workspace = new Workspace();
        await workspace.CliAsync("ingest", workspace.PhotosFolder(), "--dataset", "pets");
        var (_, address) = await workspace.StartHostAsync();
        await using var context = await _browser!.NewContextAsync();
        var page = await context.NewPageAsync();

        // The attacker's page, served under its own name, is what the browser then sends to 127.0.0.1.
        var dashboard = await page.GotoAsync($"http://{Rebound}:{address.Port}/hangfire");
        Assert.Equal(403, dashboard!.Status);
        Assert.Contains("DNS rebinding", await dashboard.TextAsync(), StringComparison.Ordinal);
        var api = await page.GotoAsync($"http://{Rebound}:{address.Port}/api/progress");
        Assert.Equal(403, api!.Status);

        // From that page, a command to the host by its real name: a cross-site request the page cannot read, but the
        // host would act on.
        await page.EvaluateAsync($"() => fetch('http://127.0.0.1:{address.Port}/api/datasets/pets/pause', {{ method: 'POST', mode: 'no-cors' }}).catch(() => null)");
        using var http = new HttpClient { BaseAddress = address };
        var pets = Assert.Single((await http.GetFromJsonAsync<JsonElement>("/api/datasets", Ct)).EnumerateArray());
        Assert.Equal("active", pets.GetProperty("state").GetString());

        // The host's own pages under its own name still work, commands included.
        var own = await page.GotoAsync($"http://127.0.0.1:{address.Port}/hangfire");
        Assert.Equal(200, own!.Status);
        Assert.Equal(200, await page.EvaluateAsync<int>($"() => fetch('/api/datasets/pets/pause', {{ method: 'POST' }}).then(r => r.status)"));
        pets = Assert.Single((await http.GetFromJsonAsync<JsonElement>("/api/datasets", Ct)).EnumerateArray());
        Assert.Equal("paused", pets.GetProperty("state").GetString());
    }
}
