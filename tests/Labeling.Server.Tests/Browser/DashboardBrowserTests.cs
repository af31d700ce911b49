using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Labeling.Server.Tests.Browser;

/// <summary>The Hangfire dashboard in a real browser: the recurring jobs, triggering the scan, the progress tiles.</summary>
public sealed class DashboardBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly LocatorAssertionsToHaveTextOptions Slow = new() { Timeout = 25_000 };

    [Fact]
    public async Task Dashboard_Renders_AndListsTheRecurringJobs()
    {
        await using var workspace = new Workspace();
        var (_, baseAddress) = await workspace.StartHostAsync();
        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;

        await page.GotoAsync("/hangfire/recurring");

        await Expect(page).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex("Labeling jobs"));
        foreach (var id in new[] { LabelingJobs.ScanInboxId, LabelingJobs.RetrainId, LabelingJobs.RelabelId, LabelingJobs.RollbackId, LabelingJobs.PromoteId })
        {
            var row = page.Locator("tr.js-jobs-list-row").Filter(new() { Has = page.Locator($".js-jobs-list-checkbox[value='{id}']") });
            await Expect(row).ToHaveCountAsync(1);
            await Expect(row).ToContainTextAsync(id);
        }

        await Expect(page.Locator("tr.js-jobs-list-row")).ToHaveCountAsync(5);
        await Expect(TriggerButton(page)).ToBeVisibleAsync();
        await session.ScreenshotAsync("dashboard-recurring.png");
        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task TriggeringScanFromDashboard_MakesImagesAppearInProgress()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync();
        workspace.DropIntoInbox("pets");
        var (_, baseAddress) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = baseAddress };
        using (var before = JsonDocument.Parse(await http.GetStringAsync("/api/progress", Workspace.Ct)))
        {
            Assert.Equal(0, before.RootElement.GetProperty("images").GetInt64());
        }

        // The review page is open before the scan: nothing yet.
        await using var reviewSession = await browser.NewPageAsync(baseAddress);
        var review = reviewSession.Page;
        await review.GotoAsync("/review");
        await Expect(review.GetByTestId("progress-images")).ToHaveTextAsync("0");
        await Expect(review.GetByTestId("review-empty")).ToBeVisibleAsync();

        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;
        await page.GotoAsync("/hangfire/recurring");
        await page.Locator($".js-jobs-list-checkbox[value='{LabelingJobs.ScanInboxId}']").CheckAsync();
        var trigger = TriggerButton(page);
        await Expect(trigger).ToBeEnabledAsync();
        // Hangfire posts the selection to /recurring/trigger, then reloads the page.
        var posted = page.WaitForResponseAsync(r => r.Url.EndsWith("/recurring/trigger", StringComparison.Ordinal) && r.Request.Method == "POST");
        await trigger.ClickAsync();
        Assert.True((await posted).Ok, "the dashboard's trigger request failed");

        // The open review page's header polls /api/progress; embedded mode labels in-process too,
        // and the empty grid reloads itself once boxes arrive.
        await Expect(review.GetByTestId("progress-images")).ToHaveTextAsync("4", Slow);
        await Expect(review.GetByTestId("progress-labelled")).ToHaveTextAsync("4", Slow);
        await Expect(review.GetByTestId("progress-pending")).ToHaveTextAsync("0", Slow);
        await Expect(review.GetByTestId("progress-model")).ToHaveTextAsync("v1");
        await Expect(review.GetByTestId("review-card").First).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(review.GetByTestId("review-empty")).ToBeHiddenAsync();
        Assert.Empty(reviewSession.Errors);

        // The dashboard's own tiles say the same.
        await page.GotoAsync("/hangfire");
        var labelled = page.Locator(".metric").Filter(new() { HasText = "Images labelled" });
        await Expect(labelled).ToContainTextAsync("4");
        await Expect(page.Locator(".metric").Filter(new() { HasText = "Images pending" })).ToContainTextAsync("0");
        await session.ScreenshotAsync("dashboard-home.png");
        Assert.Empty(session.Errors);
    }

    private static ILocator TriggerButton(IPage page) => page.Locator("button.js-jobs-list-command[data-url$='/recurring/trigger']");
}
