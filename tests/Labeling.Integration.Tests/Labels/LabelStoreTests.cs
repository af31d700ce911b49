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

    public void Dispose() => _folder.Dispose();
}

/// <summary>The label store contract on a real PostgreSQL server, a database per test.</summary>
public sealed class PostgresLabelStoreTests(PostgresFixture postgres) : LabelStoreContract
{
    protected override Task<LabelsDatabase> CreateDatabaseAsync() => postgres.CreateMigratedDatabaseAsync();

    protected override ILabelStore CreateStore(LabelsDatabase database) => new PostgresLabelStore(database);
}
