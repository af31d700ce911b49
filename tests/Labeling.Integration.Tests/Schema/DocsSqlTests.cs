using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Labeling.Labels;
using Labeling.Sql;

namespace Labeling.Integration.Tests.Schema;

/// <summary>Every SQL example in docs/sql.md runs on both databases, returns rows, and returns the same rows.</summary>
public sealed partial class DocsSqlTests(PostgresFixture postgres) : IDisposable
{
    private readonly TempFolder _folder = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static IReadOnlyList<string> Queries()
    {
        var doc = File.ReadAllText(Path.Combine(Labeling.Testing.RepoPaths.Root(), "docs", "sql.md"));
        return SqlBlock().Matches(doc).Select(m => m.Groups[1].Value.Trim()).ToList();
    }

    [Fact]
    public async Task EveryDocumentedQuery_ReturnsTheSameRows_OnSqliteAndPostgres()
    {
        var queries = Queries();
        Assert.True(queries.Count >= 8, $"expected the examples of docs/sql.md, found {queries.Count}");
        await using var sqlite = _folder.CreateMigratedSqlite();
        await using var pg = await postgres.CreateMigratedDatabaseAsync();
        await SeedAsync(new SqliteLabelStore(sqlite));
        await SeedAsync(new PostgresLabelStore(pg));

        foreach (var query in queries)
        {
            var fromSqlite = await RunAsync(sqlite.DataSource, query);
            var fromPostgres = await RunAsync(pg.DataSource, query);

            Assert.True(fromSqlite.Count > 0, $"no rows on SQLite for:\n{query}");
            Assert.Equal(fromSqlite, fromPostgres);
        }
    }

    // Values as invariant text, numbers rounded to 4 places: SQLite computes in double, PostgreSQL in real.
    private static async Task<List<string>> RunAsync(DbDataSource dataSource, string sql)
    {
        await using var connection = await dataSource.OpenConnectionAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            var values = new string[reader.FieldCount];
            for (var i = 0; i < reader.FieldCount; i++)
            {
                values[i] = reader.GetValue(i) switch
                {
                    DBNull => "null",
                    float f => Math.Round(f, 4).ToString(CultureInfo.InvariantCulture),
                    double d => Math.Round(d, 4).ToString(CultureInfo.InvariantCulture),
                    decimal m => Math.Round((double)m, 4).ToString(CultureInfo.InvariantCulture),
                    IConvertible c => c.ToString(CultureInfo.InvariantCulture),
                    var other => other.ToString() ?? "",
                };
            }

            rows.Add(string.Join(" | ", values));
        }

        return rows;
    }

    private static async Task SeedAsync(ILabelStore store)
    {
        var pets = await store.EnsureDatasetAsync("pets", Ct);
        var images = await store.RegisterImagesAsync(pets,
        [
            new("inbox/pets/fox/001.jpg", "a", 640, 480, "train"),
            new("inbox/pets/fox/002.jpg", "b", 800, 600, "train"),
            new("inbox/pets/cat/003.jpg", "c", 320, 240, "val"),
            new("inbox/pets/cat/004.jpg", "d", 320, 240),
        ], Ct);
        var ids = images.Select(i => i.ImageId).ToArray();
        await store.AddTagsAsync([new(ids[0], "red fox"), new(ids[1], "red_fox"), new(ids[1], "cat"), new(ids[2], "Cat"), new(ids[3], "cat")], Ct);
        var classes = await store.EnsureClassesAsync(["red fox", "cat"], Ct);
        var (fox, cat) = (classes["red fox"], classes["cat"]);
        var v1 = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('1', 64)), Ct);
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('2', 64), ParentId: v1), Ct);
        await store.ReplaceHumanBoxesAsync([new(ids[2], [new(cat, 10, 10, 200, 200, null, BoxSource.Human)])], Ct);
        await store.WriteLabelsAsync(v1,
        [
            new(ids[0], [new(fox, 100, 50, 300, 250, 0.75f, BoxSource.Pseudo), new(fox, 10, 10, 40, 40, 0.55f, BoxSource.Pseudo)], [new(fox, TagState.Grounded)]),
            new(ids[1], [new(fox, 0, 0, 800, 600, 0.2f, BoxSource.Weak), new(cat, 5, 5, 105, 205, 0.625f, BoxSource.Pseudo)], [new(fox, TagState.Weak), new(cat, TagState.Grounded)]),
        ], Ct);
        await store.WriteLabelsAsync(v2,
        [
            new(ids[0], [new(fox, 102, 48, 301, 251, 0.875f, BoxSource.Pseudo)], [new(fox, TagState.Grounded)]),
        ], Ct);
        await store.SetStatusAsync([ids[3]], ImageStatus.Failed, "undecodable: not a JPEG (truncated after 512 bytes)", Ct);
    }

    public void Dispose() => _folder.Dispose();

    [GeneratedRegex("```sql\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SqlBlock();
}
