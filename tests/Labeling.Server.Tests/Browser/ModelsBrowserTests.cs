using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Labeling.Server.Tests.Browser;

/// <summary>The dashboard's Models page in a real browser: the registry listed, a candidate promoted with its button.</summary>
public sealed class ModelsBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ModelsPage_ListsTheModels_AndPromoteMakesTheCandidateActive()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync("v1");
        await workspace.AddModelAsync("v2", activate: false);
        var (app, baseAddress) = await workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        var ct = Workspace.Ct;
        var v1 = (await store.GetModelAsync("v1", ct))!;
        await store.SetModelMetricsAsync("v1", """{"gold": {"AP": 0.402, "AP50": 0.611, "APbase": 0.463, "APnovel": 0.301}}""", ct);
        await store.SetModelMetricsAsync("v2", """
            {"gold": {"AP": 0.418, "AP50": 0.634, "APbase": 0.459, "APnovel": 0.347},
             "parent": {"version": "v1", "gold": {"AP": 0.402, "APnovel": 0.301}},
             "gate": {"Promote": false, "Reason": "held for a person"}}
            """, ct);
        await store.RegisterModelAsync(new NewModel("v3", "region-embedding/1", "models/v3.onnx", new string('a', 64), ParentId: v1.Id), ct);
        await store.SetModelMetricsAsync("v3", """
            {"gold": {"AP": 0.371, "AP50": 0.580, "APbase": 0.455, "APnovel": 0.262},
             "parent": {"version": "v1", "gold": {"AP": 0.402, "APnovel": 0.301}}}
            """, ct);
        await store.RejectModelAsync("v3", "AP-novel 0.262 < 0.301 − 0.01", ct);
        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;
        // The buttons ask before they post.
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();

        await page.GotoAsync("/hangfire/models");

        await Expect(page).ToHaveTitleAsync("Models – Labeling jobs");
        await Expect(page.Locator("tr[data-testid='model-row']")).ToHaveCountAsync(3);
        await Expect(Status(page, "v1")).ToHaveTextAsync("active");
        await Expect(Status(page, "v2")).ToHaveTextAsync("candidate");
        await Expect(Row(page, "v2").GetByTestId("model-delta")).ToHaveTextAsync("+0.046");
        await Expect(Row(page, "v3").GetByTestId("model-reason")).ToHaveTextAsync("AP-novel 0.262 < 0.301 − 0.01");
        await Expect(Row(page, "v1").GetByTestId("model-promote")).ToHaveCountAsync(0);

        // The dashboard's script posts the command with the page's antiforgery token, then reloads.
        var posted = page.WaitForResponseAsync(r => r.Url.EndsWith("/hangfire/models/promote/v2", StringComparison.Ordinal) && r.Request.Method == "POST");
        await Row(page, "v2").GetByTestId("model-promote").ClickAsync();
        Assert.Equal(204, (await posted).Status);

        // The job runs on Hangfire's worker: reload until the page shows its outcome.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await Status(page, "v2").TextContentAsync() != "active")
        {
            Assert.True(DateTime.UtcNow < deadline, "v2 is not active 30 s after the promote command.");
            await Task.Delay(200, ct);
            await page.ReloadAsync();
        }

        await Expect(Row(page, "v2")).ToHaveClassAsync("success");
        await Expect(Status(page, "v1")).ToHaveTextAsync("retired");
        await Expect(Row(page, "v2").GetByTestId("model-rollback")).ToBeVisibleAsync();
        await Expect(page.Locator("li.active > a").Filter(new() { HasText = "Models" })).ToHaveCountAsync(1);
        await session.ScreenshotAsync("dashboard-models.png");
        Assert.Empty(session.Errors);
    }

    private static ILocator Row(IPage page, string version) => page.Locator($"tr[data-testid='model-row'][data-version='{version}']");

    private static ILocator Status(IPage page, string version) => Row(page, version).GetByTestId("model-status");
}
