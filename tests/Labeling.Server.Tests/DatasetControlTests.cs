using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server.Tests;

/// <summary>Job control per dataset on the real host: the API's list and POSTs, and the dashboard's Datasets page with its commands (each queueing a job).</summary>
public sealed class DatasetControlTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    [Fact]
    public async Task Api_ListsControlRateAndEta_AndPausesResumesCancelsAndSetsPriorityAndCap()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.IngestAndLabelAsync("pets");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        var pets = Assert.Single((await http.GetFromJsonAsync<JsonElement>("/api/datasets", Ct)).EnumerateArray());
        Assert.Equal(("pets", "active", "normal", 4L), (pets.GetProperty("dataset").GetString(), pets.GetProperty("state").GetString(), pets.GetProperty("priority").GetString(), pets.GetProperty("labelled").GetInt64()));
        Assert.Equal(JsonValueKind.Null, pets.GetProperty("maxConcurrentBatches").ValueKind);
        // Four images labelled within the rate window, none left: a positive rate and nothing to wait for.
        Assert.True(pets.GetProperty("imagesPerSecond").GetDouble() > 0);
        Assert.Equal(0, pets.GetProperty("etaSeconds").GetDouble());

        var paused = await PostAsync(http, "/api/datasets/pets/pause");
        var high = await PostAsync(http, "/api/datasets/pets/priority/high");
        var capped = await PostAsync(http, "/api/datasets/pets/limit/2");
        var cancelled = await PostAsync(http, "/api/datasets/pets/cancel");
        var resumed = await PostAsync(http, "/api/datasets/pets/resume");

        Assert.Equal("paused", paused.GetProperty("state").GetString());
        Assert.Equal(("high", 1L), (high.GetProperty("priority").GetString(), high.GetProperty("generation").GetInt64()));
        Assert.Equal(2, capped.GetProperty("maxConcurrentBatches").GetInt32());
        Assert.Equal(("paused", 2L), (cancelled.GetProperty("state").GetString(), cancelled.GetProperty("generation").GetInt64()));
        Assert.Equal("active", resumed.GetProperty("state").GetString());
        var control = await app.Services.GetRequiredService<ILabelStore>().GetDatasetControlAsync("pets", Ct);
        Assert.Equal((DatasetState.Active, DatasetPriority.High, (int?)2), (control!.State, control.Priority, control.MaxConcurrentBatches));

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/datasets/nope/pause", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/datasets/pets/priority/urgent", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/api/datasets/pets/limit/0", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/api/datasets/pets/limit/none", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task Page_ShowsEachDataset_AndItsButtonsQueueJobs_ThatPauseResumeAndSetPriority()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.IngestAndLabelAsync("pets");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        var store = app.Services.GetRequiredService<ILabelStore>();

        var html = await http.GetStringAsync("/hangfire/datasets", Ct);
        Assert.Contains("data-testid=\"dataset-row\" data-dataset=\"pets\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"dataset-pause\"", html, StringComparison.Ordinal);
        Assert.Contains("/hangfire/datasets/priority/pets/high", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/hangfire/datasets\"", await http.GetStringAsync("/hangfire", Ct), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/datasets/pause/pets", page: "/hangfire/datasets"));
        await WaitForAsync(async () => (await store.GetDatasetControlAsync("pets", Ct))!.State == DatasetState.Paused, "the pause job");
        Assert.Contains("data-testid=\"dataset-resume\"", await http.GetStringAsync("/hangfire/datasets", Ct), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/datasets/priority/pets/low", page: "/hangfire/datasets"));
        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/datasets/limit/pets/3", page: "/hangfire/datasets"));
        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/datasets/resume/pets", page: "/hangfire/datasets"));
        await WaitForAsync(async () => await store.GetDatasetControlAsync("pets", Ct) is { State: DatasetState.Active, Priority: DatasetPriority.Low, MaxConcurrentBatches: 3 }, "the priority, cap and resume jobs");
        // The history keeps each change under its dataset's name.
        var succeeded = await http.GetStringAsync("/hangfire/jobs/succeeded", Ct);
        Assert.Contains("Pause labelling of dataset pets", succeeded, StringComparison.Ordinal);

        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/datasets/pause/nope", page: "/hangfire/datasets"));
        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/datasets/priority/pets/urgent", page: "/hangfire/datasets"));
        Assert.True(app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().FailedCount() == 0);
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path)
    {
        using var response = await http.PostAsync(path, null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    private static async Task WaitForAsync(Func<Task<bool>> done, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Still waiting for {what} after a minute.");
            await Task.Delay(100, Ct);
        }
    }
}
