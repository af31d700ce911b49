using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.Storage;
using Labeling.Labels;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server.Tests;

/// <summary>The recurring jobs on the real host: registered from configuration, triggered, idempotent.</summary>
public sealed class JobsTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    private static async Task<JsonElement> ProgressAsync(HttpClient http) => await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct);

    /// <summary>Polls the API until <paramref name="done"/> holds (the jobs and workers run on their own threads); fails with the last answer after a minute.</summary>
    internal static async Task<JsonElement> WaitForAsync(HttpClient http, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var progress = await ProgressAsync(http);
            if (done(progress))
            {
                return progress;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Still waiting after a minute; progress: {progress}");
            await Task.Delay(100, Ct);
        }
    }

    [Fact]
    public async Task RecurringJobs_AreRegisteredWithTheConfiguredCron()
    {
        var (app, _) = await _workspace.StartHostAsync();
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        var jobs = connection.GetRecurringJobs().ToDictionary(j => j.Id);
        Assert.Equal(["promote-newest-candidate", "relabel", "retrain", "rollback-model", "scan-inbox"], jobs.Keys.Order());
        Assert.All(new[] { "relabel", "retrain", "scan-inbox" }, id => Assert.Equal("0 0 1 1 *", jobs[id].Cron));
        Assert.All(new[] { "promote-newest-candidate", "rollback-model" }, id => Assert.Equal(Cron.Never(), jobs[id].Cron)); // manual: "Trigger now"
        Assert.Equal("training", jobs["retrain"].Job.Queue);
    }

    [Fact]
    public async Task DefaultSchedules_ScanEveryMinute_AndANeverScheduleRemovesTheJob()
    {
        await using var workspace = new Workspace(new { Jobs = new { Relabel = "never" } });
        var (app, _) = await workspace.StartHostAsync();
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        var jobs = connection.GetRecurringJobs().ToDictionary(j => j.Id);
        Assert.Equal(["promote-newest-candidate", "retrain", "rollback-model", "scan-inbox"], jobs.Keys.Order());
        Assert.Equal("* * * * *", jobs["scan-inbox"].Cron);
    }

    [Theory]
    [InlineData(null, "default,training")]
    [InlineData("default", "default")]
    [InlineData("training", "training")]
    public async Task JobQueues_AreExactlyTheConfiguredOnes(string? configured, string expected)
    {
        await using var workspace = new Workspace(configured is null
            ? new { Jobs = Workspace.QuietJobs }
            : new { Jobs = Workspace.QuietJobs, JobQueues = new[] { configured } });
        var (app, _) = await workspace.StartHostAsync();
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        // The Hangfire server announces itself from its own thread once started.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (monitoring.Servers().Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The Hangfire server did not announce itself within 30 s.");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(expected, string.Join(',', Assert.Single(monitoring.Servers()).Queues.Order(StringComparer.Ordinal)));
    }

    [Fact]
    public async Task BadCron_StopsTheStart_NamingTheSetting()
    {
        await using var workspace = new Workspace(new { Jobs = new { ScanInbox = "every minute" } });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => workspace.StartHostAsync());
        Assert.Contains("Server:Jobs:ScanInbox 'every minute' is not a cron expression", e.Message);
    }

    [Fact]
    public async Task TriggeredScan_RegistersTheInbox_AndTheInProcessWorkersLabelIt()
    {
        await _workspace.AddModelAsync();
        _workspace.DropIntoInbox("pets");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(0, (await ProgressAsync(http)).GetProperty("images").GetInt64());

        app.Services.GetRequiredService<IRecurringJobManager>().Trigger(LabelingJobs.ScanInboxId);
        var done = await WaitForAsync(http, p => p.GetProperty("labelled").GetInt64() == 4);
        Assert.Equal(4, done.GetProperty("images").GetInt64());

        // Scanning again finds nothing new: the checkpoint and the content hashes make it idempotent.
        using var scope = app.Services.CreateScope();
        var again = await scope.ServiceProvider.GetRequiredService<LabelingJobs>().ScanInboxAsync(Ct);
        Assert.Contains("0 new image(s)", again);
        Assert.Equal(4, (await ProgressAsync(http)).GetProperty("images").GetInt64());
    }

    [Fact]
    public async Task Relabel_SendsImagesOfAnOlderModelBack_OnceOnly()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.IngestAndLabelAsync("pets");
        await _workspace.AddModelAsync("v2");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        using var scope = app.Services.CreateScope();
        var jobs = scope.ServiceProvider.GetRequiredService<LabelingJobs>();
        var first = await jobs.RelabelAsync(null, Ct);
        Assert.StartsWith("4 image(s) not labelled by v2 sent back", first);
        await WaitForAsync(http, p => p.GetProperty("labelled").GetInt64() == 4 && p.GetProperty("pending").GetInt64() + p.GetProperty("queued").GetInt64() == 0);
        var v2 = await http.GetFromJsonAsync<JsonElement>("/api/boxes?model=v2", Ct);
        Assert.NotEmpty(v2.GetProperty("boxes").EnumerateArray());

        Assert.StartsWith("0 image(s)", await jobs.RelabelAsync(null, Ct));
        Assert.StartsWith("0 image(s)", await jobs.RelabelAsync("no-such-dataset", Ct));
    }

    [Fact]
    public async Task Relabel_WithoutAnActiveModel_SaysSo()
    {
        var (app, _) = await _workspace.StartHostAsync();
        using var scope = app.Services.CreateScope();
        Assert.Equal("No active model: nothing to relabel.", await scope.ServiceProvider.GetRequiredService<LabelingJobs>().RelabelAsync(null, Ct));
    }

    [Fact]
    public async Task PromoteAndRollback_FromTheDashboardsJobs_ChangeTheActiveModel_AndQueueARelabel()
    {
        await _workspace.AddModelAsync("v1");
        var (app, _) = await _workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        using var scope = app.Services.CreateScope();
        var jobs = scope.ServiceProvider.GetRequiredService<LabelingJobs>();
        Assert.Equal("No candidate or gate-rejected model to promote.", await jobs.PromoteNewestCandidateAsync(Ct));
        Assert.Contains("first model ever active", await jobs.RollbackAsync(Ct), StringComparison.Ordinal);

        await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        await store.RejectModelAsync("v2", "AP-novel 0.30 < 0.35 − 0.01", Ct);
        var promoted = await jobs.PromoteNewestCandidateAsync(Ct);
        Assert.StartsWith("v2 promoted by hand (the gate had said: AP-novel 0.30 < 0.35 − 0.01).", promoted, StringComparison.Ordinal);
        Assert.Equal("v2", (await store.GetActiveModelAsync(Ct))?.Version);

        var rolledBack = await jobs.RollbackAsync(Ct);
        Assert.StartsWith("v1 is active again; v2 is rejected (rolled back).", rolledBack, StringComparison.Ordinal);
        Assert.Equal("v1", (await store.GetActiveModelAsync(Ct))?.Version);
        // A rolled-back model is not "the newest candidate" a second time.
        Assert.Equal("No candidate or gate-rejected model to promote.", await jobs.PromoteNewestCandidateAsync(Ct));
    }

    [Fact]
    public async Task Scan_QueuesOneRetrain_WhenThePoolHasGrownPastTheTrigger_AndNotASecond()
    {
        // No server takes the training queue here, so the queued retrain stays visible.
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, JobQueues = new[] { "default" } });
        workspace.SetSection("Retraining", new { TriggerOnGrowth = 0.5 });
        await workspace.AddModelAsync("v1");
        var (app, _) = await workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        var pets = await store.EnsureDatasetAsync("pets", Ct);
        await store.RegisterImagesAsync(pets, [new("inbox/pets/1.jpg", "h1"), new("inbox/pets/2.jpg", "h2")], Ct);
        // v1's run (as the retrainer records it) saw a pool of 1 image.
        await store.SetModelMetricsAsync("v1", """{"store": {"images": 1, "tagClasses": 0}}""", Ct);
        using var scope = app.Services.CreateScope();
        var jobs = scope.ServiceProvider.GetRequiredService<LabelingJobs>();

        var first = await jobs.ScanInboxAsync(Ct);
        var second = await jobs.ScanInboxAsync(Ct);

        Assert.Contains("retrain queued: the pool grew from 1 to 2 images since v1", first, StringComparison.Ordinal);
        Assert.DoesNotContain("retrain queued", second, StringComparison.Ordinal);
        var queued = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedJobs(LabelingJobs.RetrainQueue, 0, 10);
        Assert.Equal(nameof(LabelingJobs.RetrainAsync), Assert.Single(queued).Value.Job.Method.Name);
    }

    [Fact]
    public async Task Retrain_WithoutAGoldSplit_FailsClearly_AndChangesNothing()
    {
        await _workspace.AddModelAsync("v1");
        var (app, address) = await _workspace.StartHostAsync();
        using var scope = app.Services.CreateScope();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<LabelingJobs>().RetrainAsync(null, Ct));
        Assert.Contains("no gold boxes", error.Message, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = address };
        var models = await http.GetFromJsonAsync<JsonElement>("/api/models", Ct);
        Assert.Equal("v1", Assert.Single(models.EnumerateArray()).GetProperty("version").GetString());
        // The dashboard tile and /api/progress show the failed run and why.
        var retrain = (await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct)).GetProperty("retrain");
        Assert.False(retrain.GetProperty("running").GetBoolean());
        Assert.Contains("no gold boxes", retrain.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("failed", DashboardTiles.RetrainMetric(app.Services.GetRequiredService<RetrainStatus>().Current).Value);
    }

    [Fact]
    public async Task Retrain_WhileAnotherRunTrains_IsSkipped_ButARunWhoseProcessDiedDoesNotBlock()
    {
        await _workspace.AddModelAsync("v1");
        var (app, _) = await _workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        // A live run elsewhere: this very process, heartbeat now.
        var live = await store.StartTrainingRunAsync(new NewTrainingRun(null, "{}", "auto-77", Labeling.Bootstrap.RunOwner.Current), Ct);
        using var scope = app.Services.CreateScope();
        var jobs = scope.ServiceProvider.GetRequiredService<LabelingJobs>();

        Assert.Equal($"Skipped: training run {live} (auto-77) is in progress in {Labeling.Bootstrap.RunOwner.Current}.", await jobs.RetrainAsync(null, Ct));
        Assert.Single(await store.ListTrainingRunsAsync(Ct)); // nothing started

        // Once it has ended, and with only a run whose process died left (recovery's business), a run goes ahead —
        // and here fails for want of a gold split: it did start.
        await store.FinishTrainingRunAsync(live, TrainingRunStatus.Cancelled, null, null, "stopped", Ct);
        // A process that lives until it is killed, so that its start time can be read first.
        using (var exited = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "600") { UseShellExecute = false })!)
        {
            var start = long.Parse(File.ReadAllText($"/proc/{exited.Id}/stat").Split(')')[^1].Trim().Split(' ')[19], System.Globalization.CultureInfo.InvariantCulture);
            exited.Kill();
            await exited.WaitForExitAsync(Ct);
            await store.StartTrainingRunAsync(new NewTrainingRun(null, "{}", "auto-78", Labeling.Bootstrap.RunOwner.Of(Environment.MachineName, exited.Id, start)), Ct);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => jobs.RetrainAsync(null, Ct));
        Assert.Contains("no gold boxes", error.Message, StringComparison.Ordinal);
    }
}
