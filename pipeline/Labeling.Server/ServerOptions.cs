namespace Labeling.Server;

/// <summary>The host's own settings, bound from the <c>Server</c> section and validated at start.</summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>
    /// Run the label workers inside the host. Null (default): yes in embedded mode
    /// (<c>Storage:Mode</c> <c>Embedded</c>), no in scale-out mode where <c>labeling worker</c>
    /// processes do the labelling.
    /// </summary>
    public bool? WorkersInProcess { get; set; }

    /// <summary>Where Hangfire keeps jobs. <see cref="HangfireStorageKind.Auto"/>: in memory on SQLite, PostgreSQL when the labels database is PostgreSQL.</summary>
    public HangfireStorageKind HangfireStorage { get; set; } = HangfireStorageKind.Auto;

    /// <summary>PostgreSQL connection string for Hangfire; default: the labels database's (<c>Database:ConnectionString</c>).</summary>
    public string? HangfireConnectionString { get; set; }

    /// <summary>PostgreSQL schema of Hangfire's tables, apart from the labels tables.</summary>
    public string HangfireSchema { get; set; } = "hangfire";

    /// <summary>Hangfire worker threads in this host (jobs are short or wait on I/O; the label workers are separate).</summary>
    public int JobWorkers { get; set; } = 2;

    /// <summary>
    /// Hangfire queues this host takes jobs from; null (default): <see cref="DefaultJobQueues"/>. Scale-out:
    /// list only <c>default</c> here and run <c>training</c> on GPU servers. (Null rather than an array
    /// initialiser: the configuration binder appends to an existing array instead of replacing it.)
    /// </summary>
    public string[]? JobQueues { get; set; }

    /// <summary>The queues of a host that configures none: <c>default</c> and <c>training</c>.</summary>
    public static IReadOnlyList<string> DefaultJobQueues { get; } = ["default", "training"];

    /// <summary>Cron schedules (UTC) of the recurring jobs.</summary>
    public JobSchedules Jobs { get; set; } = new();

    /// <summary>Who may use the dashboard, the API and the review page.</summary>
    public AccessOptions Access { get; set; } = new();
}

/// <summary>Cron expressions (UTC, five fields) of the recurring jobs; empty or <c>never</c> removes the job.</summary>
public sealed class JobSchedules
{
    /// <summary>Scan the inbox for new images and enqueue them: every minute.</summary>
    public string ScanInbox { get; set; } = "* * * * *";

    /// <summary>Retrain the detector: Sundays at 03:00 (a placeholder until step 7).</summary>
    public string Retrain { get; set; } = "0 3 * * 0";

    /// <summary>Send images labelled by an older model back to the workers: hourly.</summary>
    public string Relabel { get; set; } = "0 * * * *";
}

/// <summary>
/// Requests from a loopback address always get in. Others need a configured user and password
/// (HTTP Basic, which browsers prompt for) or a bearer token; with neither configured the host
/// is local-only.
/// </summary>
public sealed class AccessOptions
{
    /// <summary>
    /// Let loopback callers in without credentials (default). Turn off behind a reverse proxy on
    /// the same machine, where every request arrives from loopback.
    /// </summary>
    public bool AllowLoopback { get; set; } = true;

    public string? User { get; set; }

    public string? Password { get; set; }

    public string? Token { get; set; }
}

/// <summary>Where Hangfire keeps its jobs.</summary>
public enum HangfireStorageKind
{
    Auto,
    InMemory,
    Postgres,
}
