using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server.Tests;

/// <summary>
/// A newly active model the workers cannot load: they keep labelling with the previous one (no failed batch), and the
/// host says so — <c>/api/progress</c>, the dashboard's Active model tile, <c>/readyz</c> (degraded) and <c>/stats</c>.
/// </summary>
public sealed class ModelLoadFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ActiveModelThatCannotLoad_WorkersKeepThePreviousOne_AndTheHostReportsIt()
    {
        await using var workspace = new Workspace();
        await workspace.AddModelAsync("v1");
        workspace.DropIntoInbox("pets");
        var (app, address) = await workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        using (var scope = app.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<LabelingJobs>().ScanInboxAsync(Ct);
        }

        // The host's own workers label with v1.
        var before = await JobsTests.WaitForAsync(http, p => p.GetProperty("labelled").GetInt64() == 4);
        Assert.Equal("v1", before.GetProperty("modelInUse").GetString());
        Assert.Equal(JsonValueKind.Null, before.GetProperty("modelLoadFailure").ValueKind);

        // v2 is registered with a hash its file does not have (a half-written upload) and activated.
        var store = app.Services.GetRequiredService<ILabelStore>();
        await using (var file = File.OpenRead(Path.Combine(workspace.Folder, "v1.onnx")))
        {
            await app.Services.GetRequiredService<IBlobStore>().WriteAsync("models/v2.onnx", file, overwrite: false, Ct);
        }

        await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64), (await store.GetModelAsync("v1", Ct))!.EmbeddingSpace), Ct);
        await store.ActivateModelAsync("v2", Ct);
        using (var scope = app.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<LabelingJobs>().RelabelAsync(null, Ct);
        }

        var after = await JobsTests.WaitForAsync(http, p => p.GetProperty("modelLoadFailure").ValueKind == JsonValueKind.Object && p.GetProperty("labelled").GetInt64() == 4);
        Assert.Equal(("v2", "v1"), (after.GetProperty("activeModel").GetString(), after.GetProperty("modelInUse").GetString()));
        var failure = after.GetProperty("modelLoadFailure");
        Assert.Equal("v2", failure.GetProperty("version").GetString());
        Assert.Contains("sha256", failure.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
        // No batch failed: the images were labelled again, by v1.
        Assert.Equal(0, after.GetProperty("failed").GetInt64());
        var boxes = await http.GetFromJsonAsync<JsonElement>("/api/boxes?model=v1&limit=1000", Ct);
        Assert.True(boxes.GetProperty("boxes").GetArrayLength() > 0);

        var tile = DashboardTiles.ModelMetric(app.Services.GetRequiredService<ProgressReader>().ReadCached());
        Assert.Equal("v2 failed to load · labelling with v1", tile.Value);
        Assert.Equal(Hangfire.Dashboard.MetricStyle.Danger, tile.Style);
        Assert.Contains("v2 failed to load", await http.GetStringAsync("/hangfire", Ct), StringComparison.Ordinal); // "·" is HTML-encoded there
        using var ready = await http.GetAsync("/readyz", Ct);
        Assert.Equal((HttpStatusCode.OK, "Degraded"), (ready.StatusCode, await ready.Content.ReadAsStringAsync(Ct))); // still labels, so still ready
        var stats = await http.GetFromJsonAsync<JsonElement>("/stats", Ct);
        Assert.Equal(("v1", "v2"), (stats.GetProperty("modelInUse").GetString(), stats.GetProperty("modelLoadFailure").GetProperty("version").GetString()));
    }
}
