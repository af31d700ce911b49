using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Labeling.Server.Tests;

/// <summary>The dashboard's Demo page: the runs in the store, and "Run the demo again" under the next prefix (step 8, §2).</summary>
public sealed class DemoPageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<JsonElement> WaitForDemoAsync(HttpClient http, string prefix)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var demo = (await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct)).GetProperty("demo");
            if (demo.ValueKind == JsonValueKind.Object && demo.GetProperty("prefix").GetString() == prefix
                && demo.GetProperty("state").GetString() is "finished" or "failed")
            {
                return demo;
            }

            Assert.True(DateTime.UtcNow < deadline, $"demo {prefix} did not end within three minutes: {demo}");
            await Task.Delay(100, Ct);
        }
    }

    [Fact]
    public async Task RunAgain_AfterAFinishedDemo_RunsAsDemo2_BesideTheFirst_AndRefusesAStalePage()
    {
        await using var workspace = new Workspace();
        workspace.SetServerSettings(DemoJobTests.DemoOn(Path.Combine(workspace.Folder, "data", "demo"), queues: null));
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal("finished", (await WaitForDemoAsync(http, "demo")).GetProperty("state").GetString());

        var page = await http.GetStringAsync("/hangfire/demo", Ct);
        Assert.Contains("data-prefix=\"demo\"", page, StringComparison.Ordinal);
        Assert.Contains("Run the demo again (as demo-2)", page, StringComparison.Ordinal);
        Assert.Contains("/hangfire/demo/run/demo-2", page, StringComparison.Ordinal);

        // Without the page's antiforgery token nothing is queued; a stale or made-up prefix is refused.
        using (var bare = await http.PostAsync("/hangfire/demo/run/demo-2", new StringContent(""), Ct))
        {
            Assert.NotEqual(HttpStatusCode.NoContent, bare.StatusCode);
        }

        Assert.Equal(HttpStatusCode.UnprocessableEntity, await DashboardCommand.PostAsync(http, "/hangfire/demo/run/demo", page: "/hangfire/demo"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await DashboardCommand.PostAsync(http, "/hangfire/demo/run/demo-3", page: "/hangfire/demo"));

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/demo/run/demo-2", page: "/hangfire/demo"));
        var again = await WaitForDemoAsync(http, "demo-2");
        Assert.True(again.GetProperty("state").GetString() == "finished", $"the second run failed: {again}");
        var rounds = again.GetProperty("report").GetProperty("rounds").EnumerateArray().Select(r => r.GetProperty("version").GetString()).ToList();
        Assert.Equal(["demo-2-seed", "demo-2-r1"], rounds);
        Assert.True(File.Exists(Path.Combine(workspace.Folder, "data", "demo-2", "report.md")), "the second run writes its report beside the first");
        Assert.True(File.Exists(Path.Combine(workspace.Folder, "data", "demo", "report.md")), "the first run's report stays");

        var progress = await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct);
        Assert.Equal((40L, 40L, 0L), (progress.GetProperty("images").GetInt64(), progress.GetProperty("labelled").GetInt64(), progress.GetProperty("failed").GetInt64()));
        Assert.Equal("demo-2-r1", progress.GetProperty("activeModel").GetString());
        var models = (await http.GetFromJsonAsync<JsonElement>("/api/models", Ct)).EnumerateArray().Select(m => m.GetProperty("version").GetString()).Order().ToList();
        Assert.Equal(["demo-2-r1", "demo-2-seed", "demo-r1", "demo-seed"], models);

        var after = await http.GetStringAsync("/hangfire/demo", Ct);
        Assert.Contains("data-prefix=\"demo-2\"", after, StringComparison.Ordinal);
        Assert.Contains("Run the demo again (as demo-3)", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAgain_OverSomeoneElsesData_IsRefused_AndThePageSaysWhy()
    {
        await using var workspace = new Workspace();
        await workspace.CliAsync("ingest", workspace.PhotosFolder(), "--dataset", "pets");
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        var page = await http.GetStringAsync("/hangfire/demo", Ct);
        Assert.Contains("data-testid=\"demo-refused\"", page, StringComparison.Ordinal);
        Assert.Contains("dataset &#39;pets&#39;", page, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"demo-run-again\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, await DashboardCommand.PostAsync(http, "/hangfire/demo/run/demo", page: "/hangfire/demo"));
    }

    [Theory]
    [InlineData("demo", true, 1)]
    [InlineData("demo-2", true, 2)]
    [InlineData("demo-17", true, 17)]
    [InlineData("demo-1", false, 1)]
    [InlineData("demo-0", false, 0)]
    [InlineData("demos", false, 1)]
    [InlineData("pets", false, 1)]
    [InlineData("demo-2-base", false, 1)]
    public void Prefixes_AreDemoOrDemoN(string prefix, bool valid, int number)
    {
        Assert.Equal(valid, DemoRuns.IsPrefix(prefix));
        if (valid)
        {
            Assert.Equal(number, DemoRuns.Number(prefix));
        }
    }

    [Fact]
    public void WorkFolders_OfLaterRuns_SitBesideTheFirst() =>
        Assert.Equal((Path.Combine("data", "demo"), Path.Combine("data", "demo-2")), (DemoRuns.WorkFolder(Path.Combine("data", "demo"), "demo"), DemoRuns.WorkFolder(Path.Combine("data", "demo"), "demo-2")));
}
