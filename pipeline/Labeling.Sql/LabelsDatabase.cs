using System.Data.Common;
using Labeling.Schema;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Labeling.Sql;

/// <summary>
/// The labels database connection factory: a <see cref="DbDataSource"/> for the configured
/// provider. SQLite connections get their per-connection settings (foreign keys, synchronous
/// NORMAL under WAL) on every open.
/// </summary>
public sealed class LabelsDatabase : IAsyncDisposable
{
    private LabelsDatabase(DatabaseProvider provider, DbDataSource dataSource, string connectionString)
    {
        Provider = provider;
        DataSource = dataSource;
        ConnectionString = connectionString;
    }

    /// <summary>The SQL dialect.</summary>
    public DatabaseProvider Provider { get; }

    /// <summary>Opens connections to the database.</summary>
    public DbDataSource DataSource { get; }

    internal string ConnectionString { get; }

    /// <summary>Creates the data source for <paramref name="options"/>.</summary>
    public static LabelsDatabase Create(DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        return options.Provider switch
        {
            DatabaseProvider.Sqlite => new LabelsDatabase(options.Provider, new SqliteDataSource(options.ConnectionString), options.ConnectionString),
            DatabaseProvider.Postgres => new LabelsDatabase(options.Provider, NpgsqlDataSource.Create(options.ConnectionString), options.ConnectionString),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Provider, "Unknown database provider."),
        };
    }

    /// <summary>Applies the schema migrations to this database.</summary>
    public MigrationResult Migrate() => Migrator.Apply(Provider, ConnectionString);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    private sealed class SqliteDataSource(string connectionString) : DbDataSource
    {
        private readonly string _connectionString = new SqliteConnectionStringBuilder(connectionString)
        {
            ForeignKeys = true,
            Pooling = true,
        }.ToString();

        public override string ConnectionString => _connectionString;

        protected override DbConnection CreateDbConnection() => new SqliteConnection(_connectionString);

        protected override DbConnection OpenDbConnection()
        {
            var connection = CreateDbConnection();
            try
            {
                connection.Open();
                Configure(connection);
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
        {
            var connection = CreateDbConnection();
            try
            {
                await connection.OpenAsync(cancellationToken);
                Configure(connection);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        // synchronous=NORMAL is durable under WAL except for the last commits on power loss, and
        // saves an fsync per transaction; busy_timeout lets writers queue instead of failing; a 64 MiB
        // page cache (default 2 MiB) keeps the box indexes in memory during bulk writes.
        private static void Configure(DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;";
            command.ExecuteNonQuery();
        }
    }
}
