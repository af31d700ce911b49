using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hangfire;
using Labeling.Labels;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server.Tests;

/// <summary>
/// The dashboard's Models page on the real host: the registry with its scores, HTML-encoded, and the promote / reject /
/// rollback commands, posted as the dashboard's script posts them, each queueing a job whose result the history keeps.
/// </summary>
public sealed partial class ModelsPageTests : IAsyncLifetime
{
    private const string Metrics = """
        {"gold": {"AP": 0.412, "AP50": 0.623, "APbase": 0.455, "APnovel": 0.331, "images": 10, "detections": 40},
         "parent": {"version": "v1", "gold": {"AP": 0.4, "APnovel": 0.301}},
         "pool": {"boxImages": 5}, "gate": {"Promote": true, "Reason": "AP-novel 0.331 ≥ 0.301 − 0.01"}}
        """;

    private readonly Workspace _workspace = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    [Fact]
    public async Task Page_ListsEveryModelNewestFirst_WithScoresLineageAndEncodedReasons()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.AddModelAsync("v2");
        var (app, address) = await _workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        var v1 = (await store.GetModelAsync("v1", Ct))!;
        await store.RegisterModelAsync(new NewModel("v3", "region-embedding/1", "models/v3.onnx", "0123456789abcdef" + new string('e', 48), ParentId: v1.Id), Ct);
        await store.SetModelMetricsAsync("v3", Metrics, Ct);
        await store.RegisterModelAsync(new NewModel("v4", "region-embedding/1", "models/v4.onnx", new string('c', 64)), Ct);
        await store.SetModelMetricsAsync("v4", """{"gold": "not an object", "parent": null}""", Ct);
        await store.RejectModelAsync("v4", "<script>alert('x')</script> AP-novel fell", Ct);
        using var http = new HttpClient { BaseAddress = address };

        var html = await http.GetStringAsync("/hangfire/models", Ct);

        // Inside Hangfire's layout, with its own menu item.
        Assert.Contains("<title>Models – Labeling jobs</title>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/hangfire/models\"", html, StringComparison.Ordinal);
        var rows = RowRegex().Matches(html).Select(m => m.Groups["version"].Value).ToList();
        Assert.Equal(["v4", "v3", "v2", "v1"], rows);
        var v3Row = Row(html, "v3");
        Assert.Contains("label-info", v3Row, StringComparison.Ordinal);
        Assert.Contains(">v1<", v3Row, StringComparison.Ordinal); // parent
        foreach (var score in new[] { "0.412", "0.623", "0.455", "0.331", "+0.030", ">0123456789ab<" })
        {
            Assert.Contains(score, v3Row, StringComparison.Ordinal);
        }

        Assert.Contains("models/v3.onnx", v3Row, StringComparison.Ordinal);
        Assert.Contains("/hangfire/models/promote/v3", v3Row, StringComparison.Ordinal);
        Assert.Contains("/hangfire/models/reject/v3", v3Row, StringComparison.Ordinal);
        // The active model stands out and offers only the rollback (v1 was active before it).
        var v2Row = Row(html, "v2");
        Assert.StartsWith("<tr class=\"success\"", v2Row, StringComparison.Ordinal);
        Assert.Contains("label-success", v2Row, StringComparison.Ordinal);
        Assert.Contains("/hangfire/models/rollback/v2", v2Row, StringComparison.Ordinal);
        Assert.DoesNotContain("/promote/", v2Row, StringComparison.Ordinal);
        Assert.DoesNotContain("/reject/", v2Row, StringComparison.Ordinal);
        // A retired model can be promoted again, not rejected.
        var v1Row = Row(html, "v1");
        Assert.Contains("/hangfire/models/promote/v1", v1Row, StringComparison.Ordinal);
        Assert.DoesNotContain("/reject/", v1Row, StringComparison.Ordinal);
        // User text is encoded; metrics of the wrong shape show dashes.
        var v4Row = Row(html, "v4");
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; AP-novel fell", v4Row, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.Contains("label-danger", v4Row, StringComparison.Ordinal);
        Assert.Equal(7, Regex.Count(v4Row, ">—<")); // parent, run, four scores, delta
    }

    [Fact]
    public async Task PromoteCommand_QueuesAJob_ThatActivatesTheModel_AndARelabelGenerationFollows()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.IngestAndLabelAsync("pets");
        await _workspace.AddModelAsync("v2", activate: false);
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/models/promote/v2"));

        var (succeeded, result) = await WaitForJobAsync(app, nameof(LabelingJobs.PromoteAsync), "v2");
        Assert.True(succeeded, result);
        Assert.Equal("v2 promoted by hand. 4 image(s) not labelled by v2 sent back; 1 batch(es) queued.", result);
        var store = app.Services.GetRequiredService<ILabelStore>();
        Assert.Equal("v2", (await store.GetActiveModelAsync(Ct))?.Version);
        Assert.Equal(ModelStatus.Retired, (await store.GetModelAsync("v1", Ct))?.Status);
        // The in-process workers label the images again with v2.
        await WaitForAsync(async () => (await http.GetFromJsonAsync<JsonElement>("/api/boxes?model=v2", Ct)).GetProperty("boxes").GetArrayLength() > 0, "boxes by v2");
        // The dashboard's history names the job after its model.
        Assert.Contains("Promote model v2 by hand", await http.GetStringAsync("/hangfire/jobs/succeeded", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RejectCommand_RejectsTheCandidate_ByHand()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.AddModelAsync("v2", activate: false);
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/models/reject/v2"));

        var (succeeded, result) = await WaitForJobAsync(app, nameof(LabelingJobs.RejectAsync), "v2");
        Assert.True(succeeded, result);
        Assert.Equal("v2 rejected by hand (it was candidate).", result);
        var v2 = (await app.Services.GetRequiredService<ILabelStore>().GetModelAsync("v2", Ct))!;
        Assert.Equal(ModelStatus.Rejected, v2.Status);
        Assert.Equal("rejected by hand", v2.StatusReason);
        Assert.Equal("v1", (await app.Services.GetRequiredService<ILabelStore>().GetActiveModelAsync(Ct))?.Version);
        Assert.Contains(">rejected by hand<", await http.GetStringAsync("/hangfire/models", Ct), StringComparison.Ordinal);
        // A person's rejection is final for "promote the newest candidate", unlike the gate's.
        using var scope = app.Services.CreateScope();
        Assert.Equal("No candidate or gate-rejected model to promote.", await scope.ServiceProvider.GetRequiredService<LabelingJobs>().PromoteNewestCandidateAsync(Ct));
    }

    [Fact]
    public async Task RollbackCommand_MakesThePreviousModelActive_AndAStalePageIsRefused()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.AddModelAsync("v2");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        // The page's button names the model it rolls back: v1 is not the active one, so nothing is queued.
        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/models/rollback/v1"));
        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/models/rollback/v2"));

        var (succeeded, result) = await WaitForJobAsync(app, nameof(LabelingJobs.RollbackAsync), "v2");
        Assert.True(succeeded, result);
        Assert.StartsWith("v1 is active again; v2 is rejected (rolled back).", result, StringComparison.Ordinal);
        var store = app.Services.GetRequiredService<ILabelStore>();
        Assert.Equal("v1", (await store.GetActiveModelAsync(Ct))?.Version);
        Assert.Equal("rolled back", (await store.GetModelAsync("v2", Ct))?.StatusReason);
        Assert.Single(Jobs(app), j => j.Method == nameof(LabelingJobs.RollbackAsync));
    }

    [Fact]
    public async Task UnknownVersion_Is422_AndQueuesNothing()
    {
        await _workspace.AddModelAsync("v1");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        foreach (var action in new[] { "promote", "reject", "rollback" })
        {
            Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, $"/hangfire/models/{action}/nope"));
        }

        // Only POST runs a command; a path outside the version rule is no command at all.
        using (var get = await http.GetAsync("/hangfire/models/promote/v1", Ct))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, await DashboardCommand.PostAsync(http, "/hangfire/models/promote/a%20b"));
        // A post without the page's antiforgery token (another site's form) is refused before any command runs.
        using (var forged = await http.PostAsync("/hangfire/models/promote/v1", new StringContent(""), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        Assert.Empty(Jobs(app));
        Assert.Equal("v1", (await app.Services.GetRequiredService<ILabelStore>().GetActiveModelAsync(Ct))?.Version);

        // A model that disappears between the command and the job: the job says so.
        using var scope = app.Services.CreateScope();
        var jobs = scope.ServiceProvider.GetRequiredService<LabelingJobs>();
        Assert.Equal("No model 'gone'.", await jobs.PromoteAsync("gone", Ct));
        Assert.Equal("No model 'gone'.", await jobs.RejectAsync("gone", Ct));
    }

    [Fact]
    public async Task RejectingTheActiveModel_IsRefused_AndChangesNothing()
    {
        await _workspace.AddModelAsync("v1");
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        // The page never shows Reject on the active model: a post of one is a stale page, and nothing is queued.
        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/models/reject/v1"));
        Assert.Empty(Jobs(app));

        // The job itself (queued while v1 was a candidate, run after it was promoted) changes nothing and says why.
        using var scope = app.Services.CreateScope();
        Assert.Equal("v1 is no longer a candidate (it is active): nothing changed.", await scope.ServiceProvider.GetRequiredService<LabelingJobs>().RejectAsync("v1", Ct));
        var v1 = (await app.Services.GetRequiredService<ILabelStore>().GetModelAsync("v1", Ct))!;
        Assert.Equal(ModelStatus.Active, v1.Status);
        Assert.Null(v1.StatusReason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{"gold": null, "parent": null}""")]
    [InlineData("""{"gold": {"AP": "0.4", "APnovel": null}, "parent": {"version": 3, "gold": []}}""")]
    [InlineData("""{"store": {"images": 1}}""")]
    public void Scores_OfAbsentOrOddMetrics_AreUnknown(string? metrics)
    {
        Assert.Equal(new ModelScores(null, null, null, null, null, null), ModelScores.Parse(metrics));
    }

    [Fact]
    public void Scores_ReadTheRetrainersMetrics_AndTheDeltaToTheParent()
    {
        var scores = ModelScores.Parse(Metrics);
        Assert.Equal(new ModelScores(0.412, 0.623, 0.455, 0.331, "v1", 0.301), scores);
        Assert.Equal(0.030, scores.APNovelDelta!.Value, 6);
        Assert.Null((scores with { ParentAPNovel = null }).APNovelDelta);
    }

    private static string Row(string html, string version)
    {
        var start = html.LastIndexOf("<tr", html.IndexOf($"data-version=\"{version}\"", StringComparison.Ordinal), StringComparison.Ordinal);
        return html[start..(html.IndexOf("</tr>", start, StringComparison.Ordinal) + 5)];
    }

    [GeneratedRegex("data-testid=\"model-row\" data-version=\"(?<version>[^\"]*)\"")]
    private static partial Regex RowRegex();

    private sealed record JobSeen(string Method, string? FirstArgument, bool? Succeeded, string? Result);

    /// <summary>Every job of the host's storage that is enqueued, processing, succeeded or failed.</summary>
    private static List<JobSeen> Jobs(WebApplication app)
    {
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        static string? First(Hangfire.Common.Job? job) => job?.Args.Count > 0 ? job.Args[0] as string : null;
        return
        [
            .. monitoring.EnqueuedJobs("default", 0, 100).Select(j => new JobSeen(j.Value.Job?.Method.Name ?? "", First(j.Value.Job), null, null)),
            .. monitoring.ProcessingJobs(0, 100).Select(j => new JobSeen(j.Value.Job?.Method.Name ?? "", First(j.Value.Job), null, null)),
            .. monitoring.SucceededJobs(0, 100).Select(j => new JobSeen(j.Value.Job?.Method.Name ?? "", First(j.Value.Job), true, Text(j.Value.Result))),
            .. monitoring.FailedJobs(0, 100).Select(j => new JobSeen(j.Value.Job?.Method.Name ?? "", First(j.Value.Job), false, j.Value.ExceptionMessage)),
        ];
    }

    /// <summary>A job's result as stored: the JSON of the returned text.</summary>
    private static string? Text(object? result) => result switch
    {
        string json when json.StartsWith('"') => JsonSerializer.Deserialize<string>(json),
        _ => result?.ToString(),
    };

    /// <summary>Waits until the job that ran <paramref name="method"/> with <paramref name="version"/> has finished; its outcome and result (or failure message).</summary>
    private static async Task<(bool Succeeded, string? Result)> WaitForJobAsync(WebApplication app, string method, string? version)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var jobs = Jobs(app);
            if (jobs.FirstOrDefault(j => j.Method == method && j.FirstArgument == version && j.Succeeded is not null) is { } done)
            {
                return (done.Succeeded!.Value, done.Result);
            }

            Assert.True(DateTime.UtcNow < deadline, $"No finished {method}({version}) job after a minute; jobs: {string.Join("; ", jobs)}");
            await Task.Delay(100, Ct);
        }
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
