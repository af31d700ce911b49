namespace Labeling.Functions.Host;

/// <summary>Which backends the worker runs on. Bound from the <c>Storage</c> section.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>Embedded</c> (default: local folder, SQLite queue table, SQLite) or <c>Azure</c> (Azure Blob Storage, Azure Storage Queues; the database is configured under <c>Database</c>, usually PostgreSQL).</summary>
    public string Mode { get; set; } = "Embedded";
}

/// <summary>What else the worker host runs. Bound from the <c>Worker</c> section (the label loop itself is configured under <c>LabelWorker</c> and <c>LabelBatch</c>).</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Run the inbox scan in this process every this often; null (default) leaves scanning to another process.</summary>
    public TimeSpan? ScanInterval { get; set; }
}
