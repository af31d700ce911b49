using Labeling.Bootstrap;

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

    /// <summary>The bootstrap demo that a first start on an empty store queues as a Hangfire job.</summary>
    public DemoSettings Demo { get; set; } = new();
}

/// <summary>
/// The fresh-start demo: when the host starts on a store with no datasets, no models and an empty
/// inbox, it queues one <c>Bootstrap demo</c> job (queue <c>training</c>) that runs the bootstrap loop
/// of <c>labeling demo</c>, so the dashboard and the review page fill as the workers label. The size
/// settings left empty take the values of <see cref="Quick"/>'s preset.
/// </summary>
public sealed class DemoSettings
{
    /// <summary>Queue the demo when the host starts on a fresh store (default true). <c>LABELING_Server__Demo__RunOnFreshStart=false</c> turns it off.</summary>
    public bool RunOnFreshStart { get; set; } = true;

    /// <summary>Start from <c>labeling demo --quick</c>'s sizes (default true: about 15 minutes on 2 cores) rather than the full demo's.</summary>
    public bool Quick { get; set; } = true;

    /// <summary>Where the generated world, the models and the report go; default <c>data/demo</c> under the working directory.</summary>
    public string? WorkFolder { get; set; }

    /// <summary>Image side and model input size (multiple of 16, at least 64).</summary>
    public int? ImageSize { get; set; }

    /// <summary>Model preset: <c>tiny</c>, <c>small</c> or <c>base</c>.</summary>
    public string? Preset { get; set; }

    /// <summary>Boxed scenes of the base classes.</summary>
    public int? BaseImages { get; set; }

    /// <summary>Tag-only images.</summary>
    public int? TaggedImages { get; set; }

    /// <summary>Boxed gold scenes (the evaluation split).</summary>
    public int? GoldImages { get; set; }

    /// <summary>Training steps of the seed detector.</summary>
    public int? SeedSteps { get; set; }

    /// <summary>Bootstrap rounds after the seed.</summary>
    public int? Rounds { get; set; }

    /// <summary>Training steps of each round.</summary>
    public int? RoundSteps { get; set; }

    /// <summary>Also train and evaluate the oracle (boxes of every class).</summary>
    public bool? Oracle { get; set; }

    /// <summary>libtorch and ONNX Runtime threads of the demo (default: every core).</summary>
    public int? Threads { get; set; }

    /// <summary>The demo's options from these settings; <paramref name="runWorker"/>: label in the job itself (no workers in this host).</summary>
    public DemoOptions ToDemoOptions(bool runWorker)
    {
        var defaults = Quick ? DemoOptions.Quick : new DemoOptions();
        return defaults with
        {
            WorkFolder = string.IsNullOrWhiteSpace(WorkFolder) ? defaults.WorkFolder : WorkFolder,
            ImageSize = ImageSize ?? defaults.ImageSize,
            Preset = Preset ?? defaults.Preset,
            BaseImages = BaseImages ?? defaults.BaseImages,
            TaggedImages = TaggedImages ?? defaults.TaggedImages,
            GoldImages = GoldImages ?? defaults.GoldImages,
            SeedSteps = SeedSteps ?? defaults.SeedSteps,
            Rounds = Rounds ?? defaults.Rounds,
            RoundSteps = RoundSteps ?? defaults.RoundSteps,
            Oracle = Oracle ?? defaults.Oracle,
            Threads = Threads ?? defaults.Threads,
            RunWorker = runWorker,
        };
    }
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

/// <summary>Where Hangfire keeps its jobs.</summary>
public enum HangfireStorageKind
{
    Auto,
    InMemory,
    Postgres,
}
