using Labeling.Schema;
using Labeling.Sql;

namespace Labeling.Testing;

// Compiled into each test project (see its csproj) rather than into Labeling.Testing, which stays
// free of xUnit: the fixtures need xUnit's lifetime interfaces and the test context.

/// <summary>One PostgreSQL server for the whole test assembly; every test creates its own database in it.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("PostgreSQL is not started.");

    public async ValueTask InitializeAsync() => _server = await PostgresServer.StartAsync(durable: false, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A fresh, migrated database of its own.</summary>
    public async Task<LabelsDatabase> CreateMigratedDatabaseAsync()
    {
        var connectionString = await Server.CreateDatabaseAsync("t", TestContext.Current.CancellationToken);
        var database = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = connectionString });
        database.Migrate();
        return database;
    }
}

/// <summary>One in-memory Azurite for the whole test assembly; every test uses its own container and queue names.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteServer? _server;

    public AzuriteServer Server => _server ?? throw new InvalidOperationException("Azurite is not started.");

    public async ValueTask InitializeAsync() => _server = await AzuriteServer.StartAsync(inMemory: true, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A folder of its own per test, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "labeling-test-" + Guid.NewGuid().ToString("N")[..12]);

    public TempFolder() => Directory.CreateDirectory(Path);

    /// <summary>A fresh, migrated SQLite database file in this folder.</summary>
    public LabelsDatabase CreateMigratedSqlite(string file = "labeling.db")
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
