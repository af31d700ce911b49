using Microsoft.Playwright;

namespace Labeling.Server.Tests.Browser;

/// <summary>
/// One headless Debian chromium per test class, driven by Playwright. The browser is the system's
/// (<c>infra/local/install.sh</c> installs it with apt): Playwright's own browser download is never
/// used, only the driver bundled in the NuGet package. A missing chromium fails the tests; it does
/// not skip them.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Exactly the flags the browser runs with: no sandbox (containers), no GPU, nothing phoning home.</summary>
    public static readonly IReadOnlyList<string> Flags =
    [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not started.");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Debian's chromium is missing ({ChromiumPath}). The browser tests drive the system's chromium, never a downloaded one: "
                + "run infra/local/install.sh (it runs `apt-get install chromium`).");
        }

        // Belt and braces: nothing here may fetch Playwright's browsers.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = Flags,
            Timeout = 30_000,
        });
    }

    /// <summary>A fresh context and page (own cookies and storage) with a desktop viewport; uncaught page errors are collected.</summary>
    public async Task<BrowserPage> NewPageAsync(Uri baseAddress)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(10_000);
        var page = await context.NewPageAsync();
        var result = new BrowserPage(context, page);
        page.PageError += (_, error) => result.Errors.Add(error);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>A page in a context of its own, with the uncaught script errors it raised.</summary>
public sealed class BrowserPage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IPage Page { get; } = page;

    public List<string> Errors { get; } = [];

    /// <summary>Saves a full-page screenshot as <c>artifacts/screenshots/<paramref name="name"/></c>, attaches it to the test and prints its path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var folder = Path.Combine(RepoPaths.Root(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        var bytes = await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.AddAttachment(name, bytes, "image/png");
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {path}");
        return path;
    }

    public async ValueTask DisposeAsync() => await context.CloseAsync();
}
