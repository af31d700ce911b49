using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Labeling.Bootstrap;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Labeling.Server.Tests.Browser;

/// <summary>The review page (<c>/review</c>) in a real browser, against a host whose images were ingested and labelled.</summary>
public sealed partial class ReviewPageBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ReviewPage_TilesLoadSmallThumbnails_TheViewerTheFullImage()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync();
        await workspace.IngestAndLabelAsync("pets");
        var (_, baseAddress) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = baseAddress };
        var original = await File.ReadAllBytesAsync(RepoPaths.SharedData("images", "coffee.png"), Workspace.Ct);

        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;
        await page.GotoAsync("/review");
        var card = page.Locator("[data-testid='review-card']").Filter(new() { HasText = "coffee.png" });
        var img = card.Locator("img");
        await Expect(img).ToHaveJSPropertyAsync("complete", true);

        var src = (await img.GetAttributeAsync("src"))!;
        Assert.Matches(@"^/api/images/\d+/thumbnail\?size=\d+$", src);
        Assert.True(await img.EvaluateAsync<double>("i => i.naturalWidth") is > 0 and <= 512, "the tile's thumbnail did not decode, or is not small");
        var served = await http.GetByteArrayAsync(src, Workspace.Ct);
        Assert.True(served.Length * 4 < original.Length, $"the tile loaded {served.Length} bytes of a {original.Length}-byte image");

        await card.Locator(".thumb").ClickAsync();
        var full = page.GetByTestId("review-modal").Locator(".viewer-stage img");
        await Expect(full).ToHaveAttributeAsync("src", new Regex(@"^/api/images/\d+/content$"));
        await Expect(full).ToHaveJSPropertyAsync("complete", true);
        Assert.True(await full.EvaluateAsync<double>("i => i.naturalWidth") > 512, "the viewer shows the original, full size");
    }

    [Fact]
    public async Task ReviewPage_ShowsTheBoxesOfALabelledImage()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync();
        await workspace.IngestAndLabelAsync("pets");
        var (_, baseAddress) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = baseAddress };
        using var review = JsonDocument.Parse(await http.GetStringAsync("/api/review?limit=500", Workspace.Ct));
        var expected = review.RootElement.GetProperty("images").EnumerateArray()
            .Single(i => i.GetProperty("image").GetProperty("blobPath").GetString()!.EndsWith("/astronaut.png", StringComparison.Ordinal));
        var image = expected.GetProperty("image");
        // Sizes are stored only when an annotation file gave them; the page then takes the decoded size.
        double? storedWidth = image.GetProperty("width").ValueKind == JsonValueKind.Number ? image.GetProperty("width").GetDouble() : null;
        var apiBoxes = expected.GetProperty("boxes").EnumerateArray().ToDictionary(b => b.GetProperty("boxId").GetInt64().ToString(CultureInfo.InvariantCulture));

        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;
        await page.GotoAsync("/review");

        // The header shows the totals.
        await Expect(page.GetByTestId("progress-images")).ToHaveTextAsync("4");
        await Expect(page.GetByTestId("progress-labelled")).ToHaveTextAsync("4");
        await Expect(page.GetByTestId("progress-model")).ToHaveTextAsync("v1");

        // One card per image with a box, each box where the API says, in the card's image.
        await Expect(page.GetByTestId("review-card")).ToHaveCountAsync(review.RootElement.GetProperty("images").GetArrayLength());
        var card = page.Locator($"[data-testid='review-card'][data-image-id='{image.GetProperty("id").GetInt64()}']");
        await Expect(card).ToContainTextAsync("astronaut.png");
        var persons = card.Locator("[data-testid='review-box'][data-class='person']");
        await Expect(persons.First).ToBeVisibleAsync();
        Assert.Equal(apiBoxes.Count, await card.GetByTestId("review-box").CountAsync());
        // The bytes came from /api/images/{id}/content and decode; boxes are placed against their size.
        var img = card.Locator("img");
        await Expect(img).ToHaveJSPropertyAsync("complete", true);
        var width = await img.EvaluateAsync<double>("i => i.naturalWidth");
        var height = await img.EvaluateAsync<double>("i => i.naturalHeight");
        Assert.True(width > 0 && height > 0, "the image did not decode");
        if (storedWidth is { } stored)
        {
            Assert.Equal(stored, width);
        }

        var picture = await img.BoundingBoxAsync();
        Assert.NotNull(picture);
        Assert.InRange(picture.Width / picture.Height, (width / height) - 0.02, (width / height) + 0.02);
        foreach (var box in await card.GetByTestId("review-box").AllAsync())
        {
            var id = await box.GetAttributeAsync("data-box-id");
            var api = apiBoxes[id!];
            Assert.Equal(api.GetProperty("className").GetString(), await box.GetAttributeAsync("data-class"));
            Assert.Equal(api.GetProperty("source").GetString(), await box.GetAttributeAsync("data-source"));
            var score = double.Parse((await box.GetAttributeAsync("data-score"))!, CultureInfo.InvariantCulture);
            Assert.InRange(score, 0, 1);
            await Expect(box).ToContainTextAsync($"{api.GetProperty("className").GetString()} {score.ToString("0.00", CultureInfo.InvariantCulture)}");

            var drawn = await box.BoundingBoxAsync();
            Assert.NotNull(drawn);
            AssertNear(picture.X + (api.GetProperty("x1").GetDouble() / width * picture.Width), drawn.X, "left");
            AssertNear(picture.Y + (api.GetProperty("y1").GetDouble() / height * picture.Height), drawn.Y, "top");
            AssertNear((api.GetProperty("x2").GetDouble() - api.GetProperty("x1").GetDouble()) / width * picture.Width, drawn.Width, "width");
            AssertNear((api.GetProperty("y2").GetDouble() - api.GetProperty("y1").GetDouble()) / height * picture.Height, drawn.Height, "height");
            Assert.True(drawn.X >= picture.X - 1 && drawn.Y >= picture.Y - 1
                && drawn.X + drawn.Width <= picture.X + picture.Width + 1 && drawn.Y + drawn.Height <= picture.Y + picture.Height + 1,
                $"box {id} lies outside its image");
        }

        await session.ScreenshotAsync("review.png");

        // A click opens the image full size with the list of its boxes; Esc closes it.
        var modal = page.GetByTestId("review-modal");
        await card.Locator(".thumb").ClickAsync();
        await Expect(modal).ToBeVisibleAsync();
        await Expect(page.GetByTestId("modal-title")).ToHaveTextAsync("astronaut.png");
        await Expect(modal.GetByTestId("modal-box-row")).ToHaveCountAsync(apiBoxes.Count);
        await Expect(modal.GetByTestId("modal-box-row").First).ToContainTextAsync("person");
        await Expect(modal.GetByTestId("review-box")).ToHaveCountAsync(apiBoxes.Count);
        await Expect(modal.GetByTestId("modal-tags")).ToContainTextAsync("person");
        // Hovering a row of the list highlights its box.
        await modal.GetByTestId("modal-box-row").First.HoverAsync();
        var rowId = await modal.GetByTestId("modal-box-row").First.GetAttributeAsync("data-box-id");
        await Expect(modal.Locator($"[data-testid='review-box'][data-box-id='{rowId}']")).ToHaveClassAsync(new Regex(@"\bhl\b"));
        await session.ScreenshotAsync("review-modal.png");
        await page.Keyboard.PressAsync("Escape");
        await Expect(modal).ToBeHiddenAsync();

        // The keyboard opens it too, and closing gives the focus back to the card.
        await card.Locator(".thumb").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(modal).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(modal).ToBeHiddenAsync();
        await Expect(card.Locator(".thumb")).ToBeFocusedAsync();

        // Filters: a class keeps only its boxes and goes into the URL.
        await page.GetByTestId("filter-class").FillAsync("cat");
        await page.GetByTestId("filter-class").PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(ClassIsCat());
        await Expect(page.Locator("[data-testid='review-grid']:not([aria-busy])")).ToHaveCountAsync(1);
        await Expect(page.Locator("[data-testid='review-box'][data-class='cat']").First).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid='review-box']:not([data-class='cat'])")).ToHaveCountAsync(0);
        await Expect(page.Locator($"[data-testid='review-card'][data-image-id='{image.GetProperty("id").GetInt64()}']")).ToHaveCountAsync(0);

        // No human boxes here: the empty state says so.
        await page.GetByTestId("filter-source").SelectOptionAsync("human");
        await Expect(page).ToHaveURLAsync(SourceIsHuman());
        await Expect(page.GetByTestId("review-empty")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("review-empty")).ToHaveTextAsync("No labelled boxes match these filters.");
        await Expect(page.GetByTestId("review-card")).ToHaveCountAsync(0);

        // The URL is the view: reloading it shows the same filters.
        await page.ReloadAsync();
        await Expect(page.GetByTestId("filter-class")).ToHaveValueAsync("cat");
        await Expect(page.GetByTestId("filter-source")).ToHaveValueAsync("human");
        await Expect(page.GetByTestId("review-empty")).ToBeVisibleAsync();
        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task ReviewPage_ABadFilterInTheUrl_ShowsTheServersReason()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync();
        await workspace.IngestAndLabelAsync("pets");
        var (_, baseAddress) = await workspace.StartHostAsync();
        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;

        await page.GotoAsync("/review?minScore=2");

        await Expect(page.GetByTestId("review-error")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("review-error")).ToContainTextAsync("minScore must be between 0 and 1.");
        await Expect(page.GetByTestId("filter-min-score")).ToHaveAttributeAsync("aria-invalid", "");
        await Expect(page.GetByTestId("review-empty")).ToBeHiddenAsync();
        await Expect(page.GetByTestId("review-card")).ToHaveCountAsync(0);
        // The rest of the page still works.
        await Expect(page.GetByTestId("progress-labelled")).ToHaveTextAsync("4");

        // Fixing the filter clears the error.
        await page.GetByTestId("filter-min-score").FillAsync("0.5");
        await Expect(page.GetByTestId("review-error")).ToBeHiddenAsync();
        await Expect(page.GetByTestId("review-card").First).ToBeVisibleAsync();
        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task ReviewPage_HeaderShowsTheDemoLine_OnceADemoRuns()
    {
        await using var workspace = new Workspace();
        var (app, baseAddress) = await workspace.StartHostAsync();
        await using var session = await browser.NewPageAsync(baseAddress);
        var page = session.Page;
        await page.GotoAsync("/review");
        await Expect(page.GetByTestId("progress-images")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("progress-demo")).ToBeHiddenAsync();

        // The header polls /api/progress, which carries the host's demo status.
        var status = app.Services.GetRequiredService<DemoStatus>();
        status.Start(["Generate the world", "Ingest", "Train the seed", "Label with the seed"]);
        ((IProgress<DemoProgress>)status).Report(new DemoProgress("Train the seed", 2, 4, 0.5, "step 300/600, loss 1.234"));
        var line = page.GetByTestId("progress-demo");
        await Expect(line).ToHaveTextAsync("Bootstrap demo 63%: 3/4 Train the seed, step 300/600, loss 1.234", new() { Timeout = 15_000 });

        status.Fail("the disk is full");
        await Expect(line).ToHaveTextAsync("Bootstrap demo failed at 3/4 Train the seed: the disk is full", new() { Timeout = 15_000 });
        await Expect(line).ToHaveClassAsync(new Regex(@"\bbad\b"));
        Assert.Empty(session.Errors);
    }

    private static void AssertNear(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1.5, $"box {what}: expected {expected:0.0}px, drawn at {actual:0.0}px");

    [GeneratedRegex(@"[?&]class=cat(&|$)")]
    private static partial Regex ClassIsCat();

    [GeneratedRegex(@"[?&]source=human(&|$)")]
    private static partial Regex SourceIsHuman();
}
