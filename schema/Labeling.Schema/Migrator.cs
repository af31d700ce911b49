using System.Reflection;
using DbUp;
using DbUp.Builder;
using DbUp.Engine;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Labeling.Schema;

/// <summary>The two SQL dialects the labels database supports.</summary>
public enum DatabaseProvider
{
    /// <summary>An embedded SQLite file (the default).</summary>
    Sqlite,

    /// <summary>PostgreSQL (scale-out).</summary>
    Postgres,
}

/// <summary>What a migration run did.</summary>
/// <param name="Applied">Scripts applied by this run, in order (empty when the database was up to date).</param>
/// <param name="AlreadyApplied">Scripts that were applied before.</param>
public sealed record MigrationResult(IReadOnlyList<string> Applied, IReadOnlyList<string> AlreadyApplied);

/// <summary>
/// Applies the versioned <c>.sql</c> migrations embedded in this assembly (<c>sqlite/*.sql</c>,
/// <c>postgres/*.sql</c>) with DbUp. Applying twice is a no-op: DbUp records each script in its
/// journal table <c>schemaversions</c>. On PostgreSQL the upgrade holds an advisory lock, so hosts that start together
/// migrate one after the other.
/// </summary>
public static class Migrator
{
    private static readonly Assembly Scripts = typeof(Migrator).Assembly;

    /// <summary>The advisory lock key the PostgreSQL upgrade holds: "Labeling" in ASCII, fixed so every host takes the same one.</summary>
    internal const long MigrationLockKey = 0x4C6162656C696E67;

    /// <summary>Brings the database at <paramref name="connectionString"/> up to date. Throws <see cref="MigrationException"/> on failure.</summary>
    public static MigrationResult Apply(DatabaseProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (provider == DatabaseProvider.Sqlite)
        {
            PrepareSqlite(connectionString);
        }

        if (provider == DatabaseProvider.Postgres)
        {
            return WithPostgresMigrationLock(connectionString, () => Upgrade(provider, connectionString));
        }

        return Upgrade(provider, connectionString);
    }

    // Two hosts starting on an empty database would both create the same tables (one fails with "already exists"): the
    // upgrade runs under a session advisory lock, so the second waits and then finds every script applied. A host that
    // dies mid-upgrade ends its session, which releases the lock.
    private static MigrationResult WithPostgresMigrationLock(string connectionString, Func<MigrationResult> upgrade)
    {
        // Not pooled: the connection lives for this one upgrade, and closing it ends the session (and so the lock) for sure.
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        try
        {
            connection.Open();
            using var take = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection);
            take.Parameters.AddWithValue("key", MigrationLockKey);
            take.CommandTimeout = 0; // as long as the other host's migration takes
            take.ExecuteNonQuery();
        }
        catch (NpgsqlException e)
        {
            throw new MigrationException(null, e);
        }

        try
        {
            return upgrade();
        }
        finally
        {
            // Released on the connection that took it (a session lock), before the connection closes anyway.
            using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            release.Parameters.AddWithValue("key", MigrationLockKey);
            release.ExecuteNonQuery();
        }
    }

    private static MigrationResult Upgrade(DatabaseProvider provider, string connectionString)
    {
        var folder = provider == DatabaseProvider.Sqlite ? "sqlite" : "postgres";
        UpgradeEngineBuilder builder = provider == DatabaseProvider.Sqlite
            ? DeployChanges.To.SqliteDatabase(connectionString)
            : DeployChanges.To.PostgresqlDatabase(connectionString);
        var engine = builder
            .WithScriptsEmbeddedInAssembly(Scripts, name => name.StartsWith($"{Scripts.GetName().Name}.{folder}.", StringComparison.Ordinal))
            .WithTransactionPerScript()
            .LogToNowhere()
            .Build();

        var before = engine.GetExecutedScripts();
        var result = engine.PerformUpgrade();
        if (!result.Successful)
        {
            throw new MigrationException(result.ErrorScript?.Name, result.Error);
        }

        return new MigrationResult(
            result.Scripts.Select(s => ShortName(s.Name)).ToList(),
            before.Select(ShortName).ToList());
    }

    /// <summary>The embedded script names for a provider, in the order they apply.</summary>
    public static IReadOnlyList<string> ScriptNames(DatabaseProvider provider)
    {
        var prefix = $"{Scripts.GetName().Name}.{(provider == DatabaseProvider.Sqlite ? "sqlite" : "postgres")}.";
        return Scripts.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(ShortName)
            .ToList();
    }

    private static string ShortName(string resourceName)
    {
        var parts = resourceName.Split('.');
        return parts.Length >= 3 ? $"{parts[^3]}/{parts[^2]}.{parts[^1]}" : resourceName;
    }

    // WAL lets readers run beside the single writer; it is a property of the file, set once here.
    private static void PrepareSqlite(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.DataSource is { Length: > 0 } file && file != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(file));
            if (!string.IsNullOrEmpty(dir))
            {
                Directory.CreateDirectory(dir);
            }
        }

        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}

/// <summary>A migration script failed; the database keeps every script applied before it.</summary>
public sealed class MigrationException(string? script, Exception? inner)
    : Exception($"Migration {(script is null ? "" : $"'{script}' ")}failed: {inner?.Message}", inner)
{
    public string? Script { get; } = script;
}
