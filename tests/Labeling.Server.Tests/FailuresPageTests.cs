using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Labeling.Server.Tests;

/// <summary>
/// The dashboard's Failures page and its commands on the real host, on both stacks: failed images grouped and
/// HTML-encoded, Retry and Replay posted with the antiforgery token, each an audited job, after which the in-process
/// workers label the images again.
/// </summary>
public sealed class FailuresPageTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OnSqlite_RetryAndReplayFromThePage_SendTheImagesBack_AndTheyAreLabelled()
    {
        await using var workspace = new Workspace();
        await ScenarioAsync(workspace);
    }

    [Fact]
    public async Task OnPostgresAndAzurite_RetryAndReplayFromThePage_SendTheImagesBack_AndTheyAreLabelled()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("failures", Ct);
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, WorkersInProcess = true }, connectionString, azurite.Server.ConnectionString);
        await ScenarioAsync(workspace);
    }

    private static async Task ScenarioAsync(Workspace workspace)
    {
        await workspace.AddModelAsync();
        await workspace.IngestAndLabelAsync();
        var (app, address) = await workspace.StartHostAsync();
        var store = app.Services.GetRequiredService<ILabelStore>();
        var ids = await store.GetImageIdsByStatusAsync(ImageStatus.Labelled, "pets", 0, 100, Ct);
        Assert.Equal(4, ids.Count);
        await store.SetStatusAsync([ids[0], ids[1]], ImageStatus.Failed, "missing-blob: <b>gone</b>", Ct);
        await store.SetStatusAsync([ids[2]], ImageStatus.Failed, "truncated: short", Ct);
        using var http = new HttpClient { BaseAddress = address };

        var html = await http.GetStringAsync("/hangfire/failures", Ct);
        Assert.Equal(2, CountOf(html, "data-testid=\"failure-group\""));
        Assert.Contains("missing-blob: &lt;b&gt;gone&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>gone", html, StringComparison.Ordinal);
        Assert.Contains("data-ajax=\"/hangfire/failures/retry?dataset=pets&amp;reason=missing-blob\"", html, StringComparison.Ordinal);
        Assert.Contains("data-ajax=\"/hangfire/failures/retry?dataset=pets\"", html, StringComparison.Ordinal);
        Assert.Contains("data-ajax=\"/hangfire/failures/retry?reason=truncated\"", html, StringComparison.Ordinal);

        // Another site's form (no antiforgery token) is refused; nothing to retry or no such queue is 422; only POST runs.
        using (var forged = await http.PostAsync("/hangfire/failures/retry?dataset=pets", new StringContent(""), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        using (var get = await http.GetAsync("/hangfire/failures/retry?dataset=pets", Ct))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        }

        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/failures/retry?reason=nope", page: "/hangfire/failures"));
        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/failures/replay?queue=nope", page: "/hangfire/failures"));
        Assert.Empty(Results(app, nameof(FailureJobs.RetryAsync)));

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, "/hangfire/failures/retry?dataset=pets&reason=missing-blob", page: "/hangfire/failures"));
        var retried = await WaitForResultAsync(app, nameof(FailureJobs.RetryAsync));
        Assert.StartsWith("local caller (127.0.0.1) retried the failed images of pets with reason missing-blob: 2 image(s) back to pending", retried, StringComparison.Ordinal);
        await WaitForAsync(async () => (await store.GetImagesAsync([ids[0], ids[1]], Ct)).All(i => i.Status == ImageStatus.Labelled), "the retried images to be labelled");
        var left = Assert.Single(await store.GetFailureGroupsAsync(null, null, 0, Ct));
        Assert.Equal(("truncated", 1L), (left.Reason, left.Count));

        // A batch dead-lettered on its last delivery, its last image marked failed with the batch's error.
        await store.SetStatusAsync([ids[3]], ImageStatus.Failed, "IOException: disk on fire", Ct);
        var queue = app.Services.GetRequiredService<IWorkQueueFactory>().GetQueue(app.Services.GetRequiredService<IOptions<IngestOptions>>().Value.LabelQueue);
        await queue.CreateIfNotExistsAsync(Ct);
        var letter = new PoisonMessage(queue.Name, "m-1", 5, "Failed on delivery 5 of 5: IOException: disk on fire", DateTimeOffset.UtcNow, LabelMessage.Create([ids[3]]).ToJson());
        await app.Services.GetRequiredService<IWorkQueueFactory>().GetQueue(queue.PoisonQueueName).SendAsync(letter.ToJson(), null, Ct);

        var report = await http.GetFromJsonAsync<JsonElement>("/api/failures", Ct);
        var dead = report.GetProperty("deadLetters").EnumerateArray().Single(q => q.GetProperty("queue").GetString() == queue.Name);
        Assert.Equal((1, letter.Error), (dead.GetProperty("count").GetInt32(), dead.GetProperty("lastError").GetString()));
        Assert.Equal(["truncated", "IOException"], report.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("reason").GetString()).Order(StringComparer.Ordinal).Reverse());
        html = await http.GetStringAsync("/hangfire/failures", Ct);
        Assert.Contains($"data-ajax=\"/hangfire/failures/replay?queue={queue.Name}\"", html, StringComparison.Ordinal);
        // A dead letter is work that waits for someone: /readyz says so (still 200), and so do the progress and its tile.
        using (var ready = await http.GetAsync("/readyz", Ct))
        {
            Assert.Equal((HttpStatusCode.OK, "Degraded"), (ready.StatusCode, await ready.Content.ReadAsStringAsync(Ct)));
        }

        Assert.Equal(1, (await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct)).GetProperty("deadLettered").GetInt64());

        Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(http, $"/hangfire/failures/replay?queue={queue.Name}", page: "/hangfire/failures"));
        var replayed = await WaitForResultAsync(app, nameof(FailureJobs.ReplayAsync));
        Assert.Equal($"local caller (127.0.0.1) replayed the dead letters of {queue.Name}: 1 message(s) sent back, 1 image(s) back to queued.", replayed);
        await WaitForAsync(async () => (await store.GetImagesAsync([ids[3]], Ct))[0].Status == ImageStatus.Labelled, "the replayed image to be labelled");
        Assert.Equal(0, await app.Services.GetRequiredService<IWorkQueueFactory>().GetQueue(queue.PoisonQueueName).GetApproximateCountAsync(Ct));
        using var readyAgain = await http.GetAsync("/readyz", Ct);
        Assert.Equal("Healthy", await readyAgain.Content.ReadAsStringAsync(Ct));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    /// <summary>The results of the succeeded jobs that ran <paramref name="method"/> (a failed one fails the test).</summary>
    private static List<string> Results(WebApplication app, string method)
    {
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var failed = monitoring.FailedJobs(0, 100).Where(j => j.Value.Job?.Type == typeof(FailureJobs)).Select(j => j.Value.ExceptionMessage).ToList();
        Assert.True(failed.Count == 0, $"A failures job failed: {string.Join("; ", failed)}");
        return monitoring.SucceededJobs(0, 100)
            .Where(j => j.Value.Job?.Type == typeof(FailureJobs) && j.Value.Job.Method.Name == method)
            .Select(j => j.Value.Result is string json && json.StartsWith('"') ? JsonSerializer.Deserialize<string>(json)! : j.Value.Result?.ToString() ?? "")
            .ToList();
    }

    private static async Task<string> WaitForResultAsync(WebApplication app, string method)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            if (Results(app, method) is [var result, ..])
            {
                return result;
            }

            Assert.True(DateTime.UtcNow < deadline, $"No finished {method} job after a minute.");
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
