using System.Net.Http.Json;
using System.Text.Json;
using Labeling.Testing;

namespace Labeling.Server.Tests;

/// <summary>
/// The README's main command on a fresh store (step 8, §1): the demo's scan queues label batches before any model
/// exists, and the host's own workers run beside the seed training. Training lasts longer than the workers' whole
/// retry budget (3 deliveries, 100 ms then 200 ms apart), so workers that treated "no model yet" as the batch's fault
/// would fail every image and dead-letter every batch. They must wait, say so, and label once the seed is active.
/// </summary>
public sealed class FreshStartTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const int MaxDequeueCount = 3;
    private static readonly TimeSpan ReleaseBaseDelay = TimeSpan.FromMilliseconds(100);

    // Every delivery but the last is released after ReleaseBaseDelay · 2^(n-1): the time a batch can fail before it is dead-lettered.
    private static readonly TimeSpan RetryBudget = Enumerable.Range(0, MaxDequeueCount - 1).Aggregate(TimeSpan.Zero, (sum, n) => sum + (ReleaseBaseDelay * Math.Pow(2, n)));

    [Fact]
    public Task FreshStart_Embedded_DemoEndsWell_WhileTheWorkersWaitForTheSeed() => RunAsync(postgres: null, azure: null);

    [Fact]
    public async Task FreshStart_PostgresAndAzurite_DemoEndsWell_WhileTheWorkersWaitForTheSeed() =>
        await RunAsync(await postgres.Server.CreateDatabaseAsync("fresh", Ct), azurite.Server.ConnectionString);

    private static async Task RunAsync(string? postgres, string? azure)
    {
        await using var workspace = new Workspace(postgresConnectionString: postgres, azureConnectionString: azure);
        workspace.SetServerSettings(DemoJobTests.DemoOn(Path.Combine(workspace.Folder, "data", "demo"), queues: null, seedSteps: 40, workersInProcess: true));
        workspace.SetSection("Queues", new { MaxDequeueCount });
        workspace.SetSection("LabelBatch", new
        {
            ModelCacheFolder = Path.Combine(workspace.Folder, "data", "models"),
            ReleaseBaseDelay = ReleaseBaseDelay.ToString(),
            RetryBaseDelay = "00:00:00.010",
        });
        workspace.SetSection("LabelWorker", new { MinIdleDelay = "00:00:00.050", MaxIdleDelay = "00:00:00.200", StateRecheckDelay = "00:00:00.100" });
        var (_, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };

        var deadline = DateTime.UtcNow.AddMinutes(4);
        var sawWaitingDuringSeed = false;
        JsonElement progress, demo;
        while (true)
        {
            progress = await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct);
            demo = progress.GetProperty("demo");
            if (demo.ValueKind == JsonValueKind.Object)
            {
                if (demo.GetProperty("stage").GetString() == "Train the seed" && progress.GetProperty("workers") is { ValueKind: JsonValueKind.Object } workers
                    && workers.GetProperty("name").GetString() == "waiting" && workers.GetProperty("reason").GetString() == "noModel")
                {
                    sawWaitingDuringSeed = true;
                }

                if (demo.GetProperty("state").GetString() is "finished" or "failed")
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"The demo did not end within four minutes: {progress}");
            await Task.Delay(50, Ct);
        }

        Assert.True(demo.GetProperty("state").GetString() == "finished", $"The demo failed: {demo}");
        // The premise: the seed trained for longer than a failing batch lasts before it is dead-lettered.
        var seed = demo.GetProperty("report").GetProperty("rounds")[0];
        Assert.True(seed.GetProperty("trainSeconds").GetDouble() > RetryBudget.TotalSeconds,
            $"The seed trained {seed.GetProperty("trainSeconds").GetDouble():F2} s, within the retry budget of {RetryBudget.TotalSeconds} s: give it more steps.");
        Assert.True(sawWaitingDuringSeed, "/api/progress never showed the workers waiting for a model while the seed trained");

        progress = await http.GetFromJsonAsync<JsonElement>("/api/progress", Ct);
        Assert.Equal(20, progress.GetProperty("images").GetInt64());
        Assert.Equal((20L, 0L), (progress.GetProperty("labelled").GetInt64(), progress.GetProperty("failed").GetInt64()));
        Assert.Equal(0, progress.GetProperty("deadLettered").GetInt64());
        Assert.Equal("labelling", progress.GetProperty("workers").GetProperty("name").GetString());
        Assert.Equal("demo-r1", progress.GetProperty("activeModel").GetString());
    }
}
