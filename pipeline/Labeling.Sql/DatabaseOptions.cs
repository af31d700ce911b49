using Labeling.Schema;

namespace Labeling.Sql;

/// <summary>Where the labels database is. Bound from the <c>Database</c> configuration section.</summary>
public sealed class DatabaseOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Database";

    /// <summary><see cref="DatabaseProvider.Sqlite"/> (default) or <see cref="DatabaseProvider.Postgres"/>.</summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>ADO.NET connection string. Default: the SQLite file <c>data/labeling.db</c>. Never logged.</summary>
    public string ConnectionString { get; set; } = "Data Source=data/labeling.db";
}
