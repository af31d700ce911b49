using Labeling.Labels;
using Labeling.Sql;

namespace Labeling.Integration.Tests.Labels;

/// <summary>The label store contract on an embedded SQLite file.</summary>
public sealed class SqliteLabelStoreTests : LabelStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();
    private int _count;

    protected override Task<LabelsDatabase> CreateDatabaseAsync() => Task.FromResult(_folder.CreateMigratedSqlite($"labels-{++_count}.db"));

    protected override ILabelStore CreateStore(LabelsDatabase database) => new SqliteLabelStore(database);

    /// <summary>
    /// Why SQLite needs no row locks for a replace (WriteLabelsAsync) or a claim: the store's transactions begin
    /// IMMEDIATE, taking the write lock before their first read, so two of them never interleave a read and a write.
    /// </summary>
    [Fact]
    public async Task StoreTransactions_TakeTheWriteLockWhenTheyBegin()
    {
        await using var database = await CreateDatabaseAsync();
        await using var holder = await database.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using var transaction = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);

        await using var other = new Microsoft.Data.Sqlite.SqliteConnection(database.DataSource.ConnectionString + ";Pooling=False;Default Timeout=1");
        await other.OpenAsync(TestContext.Current.CancellationToken);
        await using var begin = other.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE;";
        var busy = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => begin.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));

        Assert.Equal(5, busy.SqliteErrorCode); // SQLITE_BUSY: the first transaction holds the write lock without having written
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>The label store contract on a real PostgreSQL server, a database per test.</summary>
public sealed class PostgresLabelStoreTests(PostgresFixture postgres) : LabelStoreContract
{
    protected override Task<LabelsDatabase> CreateDatabaseAsync() => postgres.CreateMigratedDatabaseAsync();

    protected override ILabelStore CreateStore(LabelsDatabase database) => new PostgresLabelStore(database);
}
