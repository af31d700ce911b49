using System.Text.Json;
using Labeling.Cli;

namespace Labeling.Integration.Tests.Cli;

/// <summary>The <c>labeling migrate</c> command, run in-process against real databases.</summary>
public sealed class MigrateCommandTests(PostgresFixture postgres) : IDisposable
{
    private readonly TempFolder _folder = new();

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync(args, output, error, TestContext.Current.CancellationToken);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Migrate_SqliteFile_CreatesTheSchema_AndSaysUpToDateTheSecondTime()
    {
        var file = Path.Combine(_folder.Path, "data", "labeling.db");

        var first = await RunAsync("migrate", "--database", file);
        var second = await RunAsync("migrate", "--database", file);

        Assert.Equal(0, first.Code);
        Assert.Contains("Applied 5 migration(s)", first.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(file));
        Assert.Equal(0, second.Code);
        Assert.Contains("up to date", second.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_Json_PrintsWhatWasApplied()
    {
        var (code, output, _) = await RunAsync("migrate", "--database", Path.Combine(_folder.Path, "j.db"), "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("sqlite", json.RootElement.GetProperty("provider").GetString());
        Assert.Equal(["sqlite/0001_initial.sql", "sqlite/0002_views.sql", "sqlite/0003_training_run_owner.sql", "sqlite/0004_dataset_control.sql", "sqlite/0005_image_blob_version.sql"], json.RootElement.GetProperty("applied").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Migrate_PostgresFromAConfigFile_AppliesTheSchema()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("cli", TestContext.Current.CancellationToken);
        var config = Path.Combine(_folder.Path, "labeling.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new { Database = new { Provider = "Postgres", ConnectionString = connectionString } }), TestContext.Current.CancellationToken);

        var (code, output, error) = await RunAsync("migrate", "--config", config);

        Assert.True(code == 0, error);
        Assert.Contains("Postgres", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_UnreachableDatabase_FailsClearly_WithoutPrintingThePassword()
    {
        var config = Path.Combine(_folder.Path, "bad.json");
        await File.WriteAllTextAsync(config, """
            { "Database": { "Provider": "Postgres", "ConnectionString": "Host=127.0.0.1;Port=1;Username=u;Password=hunter2-secret;Timeout=3" } }
            """, TestContext.Current.CancellationToken);

        var (code, output, error) = await RunAsync("migrate", "--config", config);

        Assert.Equal(1, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error + output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingConfigFile_AndUnknownCommands_FailWithANonZeroExit()
    {
        var missing = await RunAsync("migrate", "--config", Path.Combine(_folder.Path, "nope.json"));
        var unknown = await RunAsync("frobnicate");

        Assert.Equal(1, missing.Code);
        Assert.Contains("does not exist", missing.Err, StringComparison.Ordinal);
        Assert.NotEqual(0, unknown.Code);
    }

    [Fact]
    public async Task Help_ListsTheCommands()
    {
        var (code, output, _) = await RunAsync("--help");

        Assert.Equal(0, code);
        Assert.Contains("migrate", output, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();
}
