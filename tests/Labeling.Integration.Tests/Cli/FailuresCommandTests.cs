using System.Text.Json;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Schema;
using Labeling.Sql;
using Microsoft.Extensions.Options;

namespace Labeling.Integration.Tests.Cli;

/// <summary>status, failures, retry and deadletters on the embedded stack (SQLite + SQLite queue), in-process.</summary>
public sealed partial class RoundTripCommandTests
{
    [Fact]
    public async Task Failures_AreShownByReason_RetrySendsThemBack_AndDeadLettersReplay()
    {
        await RunJsonAsync("models", "add", Model(), "--version", "v1", "--activate");
        await RunJsonAsync("ingest", ImagesFolder(), "--dataset", "pets");
        await RunJsonAsync("work", "--until-idle");

        var status = await RunJsonAsync("status");
        var failures = Assert.Single(status.GetProperty("failures").EnumerateArray());
        Assert.Equal(("pets", 1L), (failures.GetProperty("dataset").GetString(), failures.GetProperty("failed").GetInt64()));
        var top = Assert.Single(failures.GetProperty("topReasons").EnumerateArray());
        Assert.Equal(("empty", 1L), (top.GetProperty("reason").GetString(), top.GetProperty("count").GetInt64()));
        Assert.All(status.GetProperty("deadLetters").EnumerateArray(), q => Assert.Equal(0, q.GetProperty("count").GetInt32()));
        var (_, table, _) = await RunAsync("status");
        Assert.Contains("empty (1)", table, StringComparison.Ordinal);

        var listed = Assert.Single((await RunJsonAsync("failures", "--dataset", "pets")).EnumerateArray());
        Assert.Equal("inbox/pets/cat/empty.jpg", listed.GetProperty("blobPath").GetString());
        Assert.Equal("empty", listed.GetProperty("reason").GetString());
        Assert.StartsWith("empty: ", listed.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Empty((await RunJsonAsync("failures", "--reason", "missing-blob")).EnumerateArray());
        var (_, listing, _) = await RunAsync("failures");
        Assert.Contains("pets", listing, StringComparison.Ordinal);
        Assert.Contains("empty", listing, StringComparison.Ordinal);

        Assert.Equal(0, (await RunJsonAsync("retry", "--reason", "missing-blob")).GetProperty("images").GetInt32());
        var retried = await RunJsonAsync("retry", "--dataset", "pets", "--reason", "empty");
        Assert.Equal((1, 1), (retried.GetProperty("images").GetInt32(), retried.GetProperty("batches").GetInt32()));
        var after = await RunJsonAsync("status");
        var pets = Assert.Single(after.GetProperty("datasets").EnumerateArray());
        Assert.Equal((0L, 1L), (pets.GetProperty("failed").GetInt64(), pets.GetProperty("queued").GetInt64()));
        Assert.Equal(1, after.GetProperty("queueDepth").GetInt32());
        Assert.Empty(after.GetProperty("failures").EnumerateArray());

        // The batch fails on its last delivery, as LabelBatchHandler gives up: its image marked failed, the message dead-lettered.
        var imageId = listed.GetProperty("id").GetInt64();
        await using (var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Sqlite, ConnectionString = $"Data Source={Path.Combine(_folder.Path, "data", "labeling.db")}" }))
        {
            var queue = new SqliteWorkQueueFactory(database, Options.Create(new WorkQueueOptions()), TimeProvider.System).GetQueue("label");
            var message = Assert.Single(await queue.ReceiveAsync(10, TimeSpan.FromMinutes(5), Ct));
            await new SqliteLabelStore(database).SetStatusAsync([imageId], ImageStatus.Failed, "IOException: disk on fire", Ct);
            await queue.DeadLetterAsync(message, "Failed on delivery 5 of 5: IOException: disk on fire", Ct);
        }

        var letters = (await RunJsonAsync("deadletters")).EnumerateArray().ToDictionary(q => q.GetProperty("queue").GetString()!);
        Assert.Equal(["label-high", "label", "label-low"], letters.Keys);
        Assert.Equal(1, letters["label"].GetProperty("count").GetInt32());
        Assert.Equal("Failed on delivery 5 of 5: IOException: disk on fire", letters["label"].GetProperty("lastError").GetString());
        Assert.Equal(1, letters["label"].GetProperty("messages")[0].GetProperty("images").GetInt32());
        Assert.Contains("disk on fire", (await RunAsync("status")).Out, StringComparison.Ordinal);

        var replayed = await RunJsonAsync("deadletters", "--replay");
        Assert.Equal((1, 1, 0), (replayed.GetProperty("messages").GetInt32(), replayed.GetProperty("images").GetInt32(), replayed.GetProperty("skipped").GetInt32()));
        var end = await RunJsonAsync("status");
        var final = Assert.Single(end.GetProperty("datasets").EnumerateArray());
        Assert.Equal((0L, 1L), (final.GetProperty("failed").GetInt64(), final.GetProperty("queued").GetInt64()));
        Assert.Equal(1, end.GetProperty("queueDepth").GetInt32());
        Assert.All(end.GetProperty("deadLetters").EnumerateArray(), q => Assert.Equal(0, q.GetProperty("count").GetInt32()));

        var (code, _, error) = await RunAsync("deadletters", "--queue", "nope");
        Assert.Equal(1, code);
        Assert.Contains("not a label queue", error, StringComparison.Ordinal);
    }
}
