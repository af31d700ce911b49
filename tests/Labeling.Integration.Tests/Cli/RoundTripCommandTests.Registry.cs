namespace Labeling.Integration.Tests.Cli;

public sealed partial class RoundTripCommandTests
{
    [Fact]
    public async Task Registry_Promote_Reject_Rollback_ThroughTheCommandLine()
    {
        await RunJsonAsync("models", "add", Model("a.onnx"), "--version", "v1", "--activate");
        await RunJsonAsync("models", "add", Model("b.onnx"), "--version", "v2");
        await RunJsonAsync("models", "add", Model("c.onnx"), "--version", "v3");

        // Promote v2 by hand, reject v3 with a reason; the active model cannot be rejected.
        await RunJsonAsync("models", "activate", "v2");
        var rejected = await RunJsonAsync("models", "reject", "v3", "--reason", "worse on the night-time photos");
        Assert.Equal("rejected", rejected.GetProperty("status").GetString());
        var refused = await RunAsync("models", "reject", "v2", "--reason", "no");
        Assert.Equal(1, refused.Code);
        Assert.Contains("roll back", refused.Err, StringComparison.Ordinal);

        // Activating the active model again changes nothing, and says so.
        Assert.False((await RunJsonAsync("models", "activate", "v2")).GetProperty("changed").GetBoolean());

        // Roll back: v1 again, v2 rejected as rolled back; a second rollback has nowhere to go and says so.
        var rollback = await RunJsonAsync("models", "rollback", "v2");
        Assert.Equal(("v1", "v2"), (rollback.GetProperty("active").GetString(), rollback.GetProperty("rolledBack").GetString()));
        // Naming the model: a rollback of v2 typed after someone else rolled it back changes nothing.
        var stale = await RunAsync("models", "rollback", "v2");
        Assert.Equal(1, stale.Code);
        Assert.Contains("v2 is not the active model (v1 is): nothing rolled back.", stale.Err, StringComparison.Ordinal);
        var nowhere = await RunAsync("models", "rollback");
        Assert.Equal(1, nowhere.Code);
        Assert.Contains("nothing to roll back to", nowhere.Err, StringComparison.Ordinal);

        var models = (await RunJsonAsync("models", "list")).EnumerateArray().ToDictionary(m => m.GetProperty("version").GetString()!);
        Assert.Equal("active", models["v1"].GetProperty("status").GetString());
        Assert.Equal(("rejected", "rolled back"), (models["v2"].GetProperty("status").GetString(), models["v2"].GetProperty("reason").GetString()));
        Assert.Equal(("rejected", "worse on the night-time photos"), (models["v3"].GetProperty("status").GetString(), models["v3"].GetProperty("reason").GetString()));

        // The table shows the same, reason included.
        var table = await RunAsync("models", "list");
        Assert.Contains("rolled back", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retrain_OnAStoreWithoutGold_FailsBeforeTraining_WithTheReason()
    {
        await RunJsonAsync("models", "add", Model(), "--version", "v1", "--activate");

        var (code, _, error) = await RunAsync("retrain", "--steps", "1", "--threads", "1");

        Assert.Equal(1, code);
        Assert.Contains("no gold boxes", error, StringComparison.Ordinal);
        Assert.Single((await RunJsonAsync("models", "list")).EnumerateArray());
    }
}
