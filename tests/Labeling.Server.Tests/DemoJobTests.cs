using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Labeling.Bootstrap;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Labeling.Server.Tests;

/// <summary>The fresh-start demo job: queued once on an empty store, never over data, run through to its report by the host's own workers.</summary>
public sealed class DemoJobTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A workspace with the demo on; with <paramref name="queues"/> ["default"] no Hangfire server takes the training queue, so the job stays queued.</summary>
    private static Workspace DemoWorkspace(string[]? queues = null)
    {
        var workspace = new Workspace();
        workspace.SetServerSettings(DemoOn(Path.Combine(workspace.Folder, "data", "demo"), queues));
        return workspace;
    }

    /// <summary>The Server section with the demo on, small enough for seconds on two cores (<paramref name="seedSteps"/> aside).</summary>
    internal static object DemoOn(string workFolder, string[]? queues, int seedSteps = 2, bool workersInProcess = true) => new
    {
        Jobs = Workspace.QuietJobs,
        JobQueues = queues ?? ["default", "training"],
        WorkersInProcess = workersInProcess,
        // A world and training budget small enough for seconds on two cores.
        Demo = new
        {
            RunOnFreshStart = true,
            WorkFolder = workFolder,
            ImageSize = 64,
            Preset = "tiny",
            BaseImages = 8,
            TaggedImages = 8,
            GoldImages = 4,
            SeedSteps = seedSteps,
            Rounds = 1,
            RoundSteps = 2,
            Oracle = false,
            Threads = 1,
        },
    };

    private static List<Hangfire.Common.Job> QueuedDemoJobs(WebApplication app)
    {
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        return monitoring.EnqueuedJobs(DemoJob.QueueName, 0, 100).Select(j => j.Value.Job)
            .Concat(monitoring.ProcessingJobs(0, 100).Select(j => j.Value.Job))
            .Concat(monitoring.SucceededJobs(0, 100).Select(j => j.Value.Job))
            .Concat(monitoring.FailedJobs(0, 100).Select(j => j.Value.Job))
            .Where(j => j?.Type == typeof(DemoJob))
            .ToList();
    }

    private static async Task<JsonElement> ProgressAsync(HttpClient http) => await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct);

    [Fact]
    public async Task FreshStore_QueuesExactlyOneDemoJob_OnTheTrainingQueue()
    {
        await using var workspace = DemoWorkspace(queues: ["default"]);
        var (app, address) = await workspace.StartHostAsync();

        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var queued = Assert.Single(monitoring.EnqueuedJobs(DemoJob.QueueName, 0, 100));
        Assert.Equal(typeof(DemoJob), queued.Value.Job.Type);
        Assert.Equal(nameof(DemoJob.RunAsync), queued.Value.Job.Method.Name);
        Assert.Equal(1, monitoring.GetStatistics().Enqueued);

        // Nothing took it, so this host has no demo to report.
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(JsonValueKind.Null, (await ProgressAsync(http)).GetProperty("demo").ValueKind);
    }

    [Theory]
    [InlineData("model")]
    [InlineData("dataset")]
    [InlineData("inbox")]
    public async Task StoreWithData_QueuesNoDemo(string what)
    {
        await using var workspace = DemoWorkspace(queues: ["default"]);
        switch (what)
        {
            case "model":
                await workspace.AddModelAsync();
                break;
            case "dataset":
                await workspace.CliAsync("ingest", workspace.PhotosFolder(), "--dataset", "pets");
                break;
            default:
                workspace.DropIntoInbox("pets");
                break;
        }

        var (app, _) = await workspace.StartHostAsync();
        Assert.Empty(QueuedDemoJobs(app));
        Assert.Equal(0, app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().GetStatistics().Enqueued);
    }

    [Fact]
    public async Task DemoJob_RunsToItsReport_WithTheHostsWorkers_AndARestartQueuesNoSecond()
    {
        await using var workspace = DemoWorkspace();
        var (app, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        var deadline = DateTime.UtcNow.AddMinutes(2);
        JsonElement demo;
        while (true)
        {
            demo = (await ProgressAsync(http)).GetProperty("demo");
            if (demo.ValueKind == JsonValueKind.Object && demo.GetProperty("state").GetString() is "finished" or "failed")
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The demo did not end within two minutes: {demo}");
            await Task.Delay(100, Ct);
        }

        Assert.True(demo.GetProperty("state").GetString() == "finished", $"The demo failed: {demo}");
        // The job's progress reports reached the status: the last of its eight stages.
        Assert.Equal("Evaluate round 1", demo.GetProperty("stage").GetString());
        Assert.Equal(7, demo.GetProperty("stageIndex").GetInt32());
        Assert.Equal(8, demo.GetProperty("stageCount").GetInt32());
        Assert.Equal(1.0, demo.GetProperty("fraction").GetDouble());
        var rounds = demo.GetProperty("report").GetProperty("rounds").EnumerateArray().Select(r => r.GetProperty("version").GetString()).ToList();
        Assert.Equal(["demo-seed", "demo-r1"], rounds);
        Assert.True(File.Exists(Path.Combine(workspace.Folder, "data", "demo", "report.md")), "the demo writes its report into the work folder");

        // Every image was labelled (by the host's workers: the job waits for them) and the last model is active.
        var progress = await ProgressAsync(http);
        Assert.Equal(20, progress.GetProperty("images").GetInt64());
        Assert.Equal(20, progress.GetProperty("labelled").GetInt64() + progress.GetProperty("failed").GetInt64());
        Assert.Equal("demo-r1", progress.GetProperty("activeModel").GetString());

        // Hangfire shows the report's table as the job's result.
        var job = Assert.Single(QueuedDemoJobs(app));
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var succeeded = Assert.Single(monitoring.SucceededJobs(0, 10), j => j.Value.Job?.Type == typeof(DemoJob));
        Assert.Contains("| seed | demo-seed |", succeeded.Value.Result?.ToString(), StringComparison.Ordinal);
        Assert.Equal(job.Method.Name, succeeded.Value.Job.Method.Name);

        // A restart over the demo's data queues nothing and has no demo to report.
        await app.StopAsync(Ct);
        var (second, secondAddress) = await workspace.StartHostAsync();
        Assert.Empty(QueuedDemoJobs(second));
        using var secondHttp = new HttpClient { BaseAddress = secondAddress };
        Assert.Equal(JsonValueKind.Null, (await ProgressAsync(secondHttp)).GetProperty("demo").ValueKind);
    }

    [Fact]
    public async Task DemoStatus_ShowsInApiProgress_FromStartToFailure()
    {
        await using var workspace = new Workspace();
        var (app, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(JsonValueKind.Null, (await ProgressAsync(http)).GetProperty("demo").ValueKind);

        var status = app.Services.GetRequiredService<DemoStatus>();
        status.Start(["Generate the world", "Ingest", "Train the seed", "Label with the seed"]);
        ((IProgress<DemoProgress>)status).Report(new DemoProgress("Train the seed", 2, 4, 0.5, "step 300/600, loss 1.234"));
        var running = (await ProgressAsync(http)).GetProperty("demo");
        Assert.Equal("running", running.GetProperty("state").GetString());
        Assert.Equal("Train the seed", running.GetProperty("stage").GetString());
        Assert.Equal(2, running.GetProperty("stageIndex").GetInt32());
        Assert.Equal(0.5, running.GetProperty("stageFraction").GetDouble());
        Assert.Equal(0.625, running.GetProperty("fraction").GetDouble(), 6);
        Assert.Equal("step 300/600, loss 1.234", running.GetProperty("detail").GetString());
        Assert.Equal(JsonValueKind.Null, running.GetProperty("report").ValueKind);

        status.Fail("the disk is full");
        var failed = (await ProgressAsync(http)).GetProperty("demo");
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Equal("the disk is full", failed.GetProperty("error").GetString());
        Assert.Equal("Train the seed", failed.GetProperty("stage").GetString());
        Assert.NotEqual(JsonValueKind.Null, failed.GetProperty("finishedAt").ValueKind);
    }

    [Fact]
    public async Task DemoJob_OverSomeoneElsesData_SkipsWithoutTouchingIt()
    {
        await using var workspace = new Workspace();
        await workspace.CliAsync("ingest", workspace.PhotosFolder(), "--dataset", "pets");
        var (app, address) = await workspace.StartHostAsync();

        using var scope = app.Services.CreateScope();
        var result = await scope.ServiceProvider.GetRequiredService<DemoJob>().RunAsync(Ct);
        Assert.StartsWith("Skipped: the store holds dataset 'pets'", result, StringComparison.Ordinal);
        Assert.Null(app.Services.GetRequiredService<DemoStatus>().Current);
        using var http = new HttpClient { BaseAddress = address };
        var datasets = await http.GetFromJsonAsync<JsonElement>("/api/datasets", Ct);
        Assert.Equal("pets", Assert.Single(datasets.EnumerateArray()).GetProperty("dataset").GetString());
        Assert.Empty((await http.GetFromJsonAsync<JsonElement>("/api/models", Ct)).EnumerateArray());
    }

    [Fact]
    public async Task BadDemoSetting_StopsTheStart_NamingIt()
    {
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Demo = new { ImageSize = 100 } });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => workspace.StartHostAsync());
        Assert.Contains("Server:Demo: ImageSize 100 must be a multiple of 16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DashboardTile_ShowsStageAndPercent_ThenTheOutcome()
    {
        var started = DateTimeOffset.UnixEpoch;
        var running = new DemoSnapshot(DemoState.Running, "Train the seed", 2, 8, 0.5, 0.3125, "step 1/2", started, null, null, null);
        Assert.Equal("not run", DashboardTiles.DemoMetric(null).Value);
        var metric = DashboardTiles.DemoMetric(running);
        Assert.Equal("31 % · 3/8 Train the seed", metric.Value);
        Assert.Equal(Hangfire.Dashboard.MetricStyle.Info, metric.Style);
        Assert.Equal(Hangfire.Dashboard.MetricStyle.Danger, DashboardTiles.DemoMetric(running with { State = DemoState.Failed, Error = "x" }).Style);
        Assert.Equal("failed at Train the seed · Demo page: run again", DashboardTiles.DemoMetric(running with { State = DemoState.Failed, Error = "x" }).Value);
        var report = new DemoReport("Bootstrap demo", "setup", [], null, 1.25);
        var finished = DashboardTiles.DemoMetric(running with { State = DemoState.Finished, Report = report });
        Assert.Equal("done in 1.2 min", finished.Value);
        Assert.Equal(Hangfire.Dashboard.MetricStyle.Success, finished.Style);
    }
}
