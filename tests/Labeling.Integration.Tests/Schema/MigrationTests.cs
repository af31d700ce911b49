using System.Data.Common;
using Dapper;
using Labeling.Schema;
using Labeling.Sql;

namespace Labeling.Integration.Tests.Schema;

/// <summary>The migrations on both databases: applied once, re-applying is a no-op, the indexes people's questions need exist.</summary>
public sealed class MigrationTests(PostgresFixture postgres) : IDisposable
{
    private readonly TempFolder _folder = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] RequiredIndexes = ["ix_boxes_class_score", "ix_boxes_image_model", "ix_images_dataset_status", "ux_images_dataset_hash"];

    [Fact]
    public async Task Sqlite_ApplyTwice_SecondRunIsANoOp_AndIndexesExist()
    {
        var connectionString = $"Data Source={Path.Combine(_folder.Path, "sub", "dir", "m.db")}";

        var first = Migrator.Apply(DatabaseProvider.Sqlite, connectionString);
        var second = Migrator.Apply(DatabaseProvider.Sqlite, connectionString);

        Assert.Equal(Migrator.ScriptNames(DatabaseProvider.Sqlite), first.Applied);
        Assert.Empty(second.Applied);
        Assert.Equal(first.Applied, second.AlreadyApplied);
        await using var database = LabelsDatabase.Create(new DatabaseOptions { ConnectionString = connectionString });
        var indexes = await ScalarListAsync(database.DataSource, "SELECT name FROM sqlite_master WHERE type = 'index'");
        Assert.All(RequiredIndexes, index => Assert.Contains(index, indexes));
        Assert.Equal("wal", (await ScalarListAsync(database.DataSource, "PRAGMA journal_mode")).Single());
    }

    [Fact]
    public async Task Postgres_ApplyTwice_SecondRunIsANoOp_AndIndexesExist()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("m", Ct);

        var first = Migrator.Apply(DatabaseProvider.Postgres, connectionString);
        var second = Migrator.Apply(DatabaseProvider.Postgres, connectionString);

        Assert.Equal(Migrator.ScriptNames(DatabaseProvider.Postgres), first.Applied);
        Assert.Empty(second.Applied);
        await using var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = connectionString });
        var indexes = await ScalarListAsync(database.DataSource, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()");
        Assert.All(RequiredIndexes, index => Assert.Contains(index, indexes));
    }

    [Fact]
    public async Task Postgres_SeveralHostsMigratingAnEmptyDatabaseAtOnce_AllSucceed_AndEachScriptRunsOnce()
    {
        const int rounds = 5;
        const int hosts = 4;
        var scripts = Migrator.ScriptNames(DatabaseProvider.Postgres);
        var failures = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            var connectionString = await postgres.Server.CreateDatabaseAsync("race", Ct);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var runs = Enumerable.Range(0, hosts).Select(_ => Task.Run(async () =>
            {
                await start.Task;
                try
                {
                    return (Result: Migrator.Apply(DatabaseProvider.Postgres, connectionString), Error: (string?)null);
                }
                catch (MigrationException e)
                {
                    return (Result: (MigrationResult?)null, Error: e.Message);
                }
            }, Ct)).ToArray();
            start.SetResult();
            var results = await Task.WhenAll(runs);
            // The hosts' pooled connections would stay open (idle) for minutes; the server's connection slots are shared by every test.
            using (var pooled = new Npgsql.NpgsqlConnection(connectionString))
            {
                Npgsql.NpgsqlConnection.ClearPool(pooled);
            }

            failures.AddRange(results.Where(r => r.Error is not null).Select(r => $"round {round}: {r.Error}"));
            if (results.All(r => r.Result is not null))
            {
                // Between them the hosts applied every script once; the last to take the lock found all applied.
                Assert.Equal(scripts, results.SelectMany(r => r.Result!.Applied).Order(StringComparer.Ordinal));
                await using var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = connectionString });
                Assert.Equal(scripts.Count, int.Parse((await ScalarListAsync(database.DataSource, "SELECT count(*) FROM schemaversions")).Single(), System.Globalization.CultureInfo.InvariantCulture));
                var indexes = await ScalarListAsync(database.DataSource, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()");
                Assert.All(RequiredIndexes, index => Assert.Contains(index, indexes));
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {rounds * hosts} concurrent migrations failed: {string.Join(" | ", failures.Take(5))}");
    }

    [Fact]
    public void BothDialects_HaveTheSameMigrationSteps()
    {
        var sqlite = Migrator.ScriptNames(DatabaseProvider.Sqlite).Select(n => n.Split('/')[1]);
        var pg = Migrator.ScriptNames(DatabaseProvider.Postgres).Select(n => n.Split('/')[1]);

        Assert.Equal(sqlite, pg);
        Assert.True(sqlite.Count() >= 2);
    }

    [Fact]
    public async Task Sqlite_BoxesOfAClassAboveAScore_UseTheClassScoreIndex()
    {
        await using var database = _folder.CreateMigratedSqlite();

        var plan = string.Join('\n', await ScalarListAsync(database.DataSource,
            "EXPLAIN QUERY PLAN SELECT id FROM boxes WHERE class_id = 3 AND score >= 0.5", column: 3));

        Assert.Contains("ix_boxes_class_score", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sqlite_ForeignKeysAreEnforced()
    {
        await using var database = _folder.CreateMigratedSqlite();
        await using var connection = await database.DataSource.OpenConnectionAsync(Ct);

        await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO images (dataset_id, blob_path, content_hash) VALUES (42, 'x.jpg', 'h')", cancellationToken: Ct)));
    }

    [Fact]
    public void Sqlite_FileThatIsNotADatabase_FailsWithAClearError_AndIsLeftAlone()
    {
        var path = Path.Combine(_folder.Path, "not-a-db.db");
        var garbage = Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray();
        File.WriteAllBytes(path, garbage);

        var error = Assert.ThrowsAny<Exception>(() => Migrator.Apply(DatabaseProvider.Sqlite, $"Data Source={path}"));

        Assert.Contains("not a database", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(garbage, File.ReadAllBytes(path));
    }

    private static async Task<List<string>> ScalarListAsync(DbDataSource dataSource, string sql, int column = 0)
    {
        await using var connection = await dataSource.OpenConnectionAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var values = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            values.Add(Convert.ToString(reader.GetValue(column), System.Globalization.CultureInfo.InvariantCulture) ?? "");
        }

        return values;
    }

    public void Dispose() => _folder.Dispose();
}
