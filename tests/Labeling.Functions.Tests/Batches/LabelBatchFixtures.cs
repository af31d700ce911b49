using Labeling.Schema;
using Labeling.Sql;
using Labeling.Testing;

namespace Labeling.Functions.Tests.Batches;

/// <summary>One PostgreSQL server and one in-memory Azurite for the label-batch tests of a class; each test uses its own database, container and queue.</summary>
public sealed class LabelBatchServersFixture : IAsyncLifetime
{
    private PostgresServer? _postgres;
    private AzuriteServer? _azurite;

    public PostgresServer Postgres => _postgres ?? throw new InvalidOperationException("PostgreSQL is not started.");

    public AzuriteServer Azurite => _azurite ?? throw new InvalidOperationException("Azurite is not started.");

    public async ValueTask InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync(durable: false, TestContext.Current.CancellationToken);
        var azurite = AzuriteServer.StartAsync(inMemory: true, TestContext.Current.CancellationToken);
        _postgres = await postgres;
        _azurite = await azurite;
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>A fresh, migrated PostgreSQL database of its own.</summary>
    public async Task<LabelsDatabase> CreateMigratedDatabaseAsync()
    {
        var connectionString = await Postgres.CreateDatabaseAsync("batch", TestContext.Current.CancellationToken);
        var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = connectionString });
        database.Migrate();
        return database;
    }
}

/// <summary>A folder of its own per test class instance (SQLite files, blobs, the model cache), deleted afterwards.</summary>
public sealed class LabelBatchTempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "labeling-batch-" + Guid.NewGuid().ToString("N")[..12]);

    public LabelBatchTempFolder() => Directory.CreateDirectory(Path);

    /// <summary>A fresh, migrated SQLite database file in this folder.</summary>
    public LabelsDatabase CreateMigratedSqlite(string file)
    {
        var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Sqlite, ConnectionString = $"Data Source={System.IO.Path.Combine(Path, file)}" });
        database.Migrate();
        return database;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
