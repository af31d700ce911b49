using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Labeling.Server.Tests;

/// <summary>The scale-out set-up: labels and Hangfire's jobs in a real PostgreSQL, blobs and queues in Azurite; jobs survive the host.</summary>
public sealed class PostgresHostTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OnPostgres_HangfireKeepsItsJobsInItsOwnSchema_AndTheHostLabels()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("host", Ct);
        var quiet = new { Jobs = new { ScanInbox = "0 0 1 1 *", Retrain = "0 0 1 1 *", Relabel = "0 0 1 1 *" }, WorkersInProcess = true };
        await using var workspace = new Workspace(quiet, connectionString, azurite.Server.ConnectionString);
        await workspace.AddModelAsync();
        await workspace.CliAsync("ingest", workspace.PhotosFolder(), "--dataset", "pets");

        var (app, address) = await workspace.StartHostAsync();
        Assert.IsType<PostgreSqlStorage>(app.Services.GetRequiredService<JobStorage>());
        app.Services.GetRequiredService<IRecurringJobManager>().Trigger(LabelingJobs.ScanInboxId);
        using var http = new HttpClient { BaseAddress = address };
        var deadline = DateTime.UtcNow.AddMinutes(1);
        JsonElement progress;
        while ((progress = await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct)).GetProperty("labelled").GetInt64() < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, $"not labelled after a minute: {progress}");
            await Task.Delay(100, Ct);
        }

        await app.StopAsync(Ct);

        // The jobs live in PostgreSQL: without any host running they are there, in schema "hangfire".
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM hangfire.set WHERE key = 'recurring-jobs'", connection);
        Assert.Equal(5L, (long)(await command.ExecuteScalarAsync(Ct))!); // scan, relabel, retrain + the two manual model actions
        await using var succeeded = new NpgsqlCommand("SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded'", connection);
        Assert.True((long)(await succeeded.ExecuteScalarAsync(Ct))! >= 1);

        // A second host over the same databases sees the labels and the job history.
        var (second, secondAddress) = await workspace.StartHostAsync();
        using var http2 = new HttpClient { BaseAddress = secondAddress };
        Assert.Equal(4, (await http2.GetFromJsonAsync<JsonElement>("/api/progress", Ct)).GetProperty("labelled").GetInt64());
        Assert.True(second.Services.GetRequiredService<JobStorage>().GetMonitoringApi().GetStatistics().Succeeded >= 1);
    }

    [Fact]
    public async Task OnPostgres_ADemoJobQueuedByAnEarlierStart_IsNotQueuedAgain()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("demo", Ct);
        // No server here takes the training queue, so the job stays queued while the store stays fresh.
        var demoOnly = new { Jobs = Workspace.QuietJobs, JobQueues = new[] { "default" }, Demo = new { RunOnFreshStart = true } };
        await using var workspace = new Workspace(demoOnly, connectionString, azurite.Server.ConnectionString);

        var (first, _) = await workspace.StartHostAsync();
        var queued = Assert.Single(first.Services.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedJobs(DemoJob.QueueName, 0, 10));
        Assert.Equal(typeof(DemoJob), queued.Value.Job.Type);
        await first.StopAsync(Ct);

        var (second, _) = await workspace.StartHostAsync();
        var again = Assert.Single(second.Services.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedJobs(DemoJob.QueueName, 0, 10));
        Assert.Equal(queued.Key, again.Key);
    }
}
