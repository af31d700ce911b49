using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Labeling.Server.Tests.Browser;

/// <summary>The dashboard's Failures page in a real browser: opened from the Failed tile, Retry clicked, the images leave the failed group.</summary>
public sealed class FailuresBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task FailedTile_OpensTheFailuresPage_AndRetryEmptiesTheFailedGroup()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync();
        await workspace.IngestAndLabelAsync();
        var (app, baseAddress) = await workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        var ct = Workspace.Ct;
        var ids = await store.GetImageIdsByStatusAsync(ImageStatus.Labelled, "pets", 0, 100, ct);
        await store.SetStatusAsync([ids[0], ids[1]], ImageStatus.Failed, "missing-blob: The blob 'inbox/pets/person/astronaut.png' does not exist.", ct);
        await store.SetStatusAsync([ids[2]], ImageStatus.Failed, "truncated: the file ends after 812 of 9,311 bytes", ct);
        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();

        await page.GotoAsync("/hangfire");
        await page.GetByTestId("failed-tile-link").ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/hangfire/failures$"));
        await Expect(page).ToHaveTitleAsync("Failures – Labeling jobs");
        var groups = page.Locator("[data-testid='failures-dataset'][data-dataset='pets'] [data-testid='failure-group']");
        await Expect(groups).ToHaveCountAsync(2);
        await Expect(groups.Filter(new() { HasText = "missing-blob" }).GetByTestId("group-count")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("failure-example")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("deadletter-row")).ToHaveCountAsync(3);
        await session.ScreenshotAsync("failures-page.png");

        var posted = page.WaitForResponseAsync(r => r.Url.Contains("/hangfire/failures/retry", StringComparison.Ordinal) && r.Request.Method == "POST");
        await page.GetByTestId("retry-dataset").ClickAsync();
        Assert.Equal(204, (await posted).Status);

        // The job runs on Hangfire's worker and the in-process workers label the images: reload until the group is gone.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await page.GetByTestId("failures-empty").CountAsync() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "Failed images are still listed 60 s after Retry.");
            await Task.Delay(200, ct);
            await page.ReloadAsync();
        }

        await Expect(groups).ToHaveCountAsync(0);
        Assert.Empty(await store.GetFailureGroupsAsync(null, null, 0, ct));
        await Expect(page.Locator("li.active > a").Filter(new() { HasText = "Failures" })).ToHaveCountAsync(1);
        Assert.Empty(session.Errors);
    }
}
