using System.Globalization;
using System.Text.RegularExpressions;
using Hangfire;
using Labeling.Labels;

namespace Labeling.Server;

/// <summary>One run of the bootstrap demo found in the store: its prefix, datasets' progress and models.</summary>
public sealed record DemoRun(string Prefix, IReadOnlyList<DatasetProgress> Datasets, IReadOnlyList<ModelRecord> Models)
{
    /// <summary>Images of the run's datasets that failed.</summary>
    public long Failed => Datasets.Sum(d => d.Failed);
}

/// <summary>What the store holds, seen from the demo: its earlier runs, and anything else (someone's own data).</summary>
/// <param name="Runs">The demo runs, by prefix (<c>demo</c>, <c>demo-2</c>, …).</param>
/// <param name="Foreign">The first dataset or model that belongs to no demo run, described; null when there is none.</param>
public sealed record DemoInventory(IReadOnlyList<DemoRun> Runs, string? Foreign)
{
    /// <summary>The prefix a new run takes: <c>demo</c> on an empty store, then <c>demo-2</c>, <c>demo-3</c>, ….</summary>
    public string NextPrefix => Runs.Count == 0 ? DemoRuns.FirstPrefix : $"{DemoRuns.FirstPrefix}-{Runs.Max(r => DemoRuns.Number(r.Prefix)) + 1}";
}

/// <summary>
/// The one owner of "which data is the demo's": a run with prefix P owns datasets <c>P-base</c>, <c>P-tagged</c>,
/// <c>P-gold</c> and models <c>P-seed</c>, <c>P-r1</c>, …, where P is <c>demo</c> or <c>demo-N</c>. The demo job refuses
/// to mix into a store with anything else, and "Run the demo again" (the dashboard's Demo page) runs under the next
/// prefix, so every run's datasets, models and report stay apart.
/// </summary>
public static partial class DemoRuns
{
    /// <summary>The first run's prefix.</summary>
    public const string FirstPrefix = "demo";

    /// <summary>True when <paramref name="prefix"/> is a demo run's prefix (<c>demo</c> or <c>demo-N</c>, N ≥ 2).</summary>
    public static bool IsPrefix(string prefix) => PrefixRegex().Match(prefix ?? "") is { Success: true } m && (!m.Groups[1].Success || Number(prefix!) >= 2);

    /// <summary>The run number of a prefix: 1 for <c>demo</c>, N for <c>demo-N</c>.</summary>
    public static int Number(string prefix) =>
        PrefixRegex().Match(prefix) is { Success: true, Groups: [_, { Success: true } n] } ? int.Parse(n.Value, CultureInfo.InvariantCulture) : 1;

    /// <summary>
    /// The demo's work folder for <paramref name="prefix"/>: <paramref name="workFolder"/> for the first run, the same
    /// name with the run's suffix for later ones (<c>data/demo</c>, <c>data/demo-2</c>, …).
    /// </summary>
    public static string WorkFolder(string workFolder, string prefix)
    {
        ArgumentNullException.ThrowIfNull(workFolder);
        return prefix == FirstPrefix ? workFolder : workFolder.TrimEnd('/', '\\') + prefix[FirstPrefix.Length..];
    }

    /// <summary>True when Hangfire's storage holds a demo job that is queued, fetched or processing (on any server).</summary>
    public static bool AnyDemoJobQueuedOrRunning(JobStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var monitoring = storage.GetMonitoringApi();
        return monitoring.EnqueuedJobs(DemoJob.QueueName, 0, 100).Select(j => j.Value.Job)
            .Concat(monitoring.FetchedJobs(DemoJob.QueueName, 0, 100).Select(j => j.Value.Job))
            .Concat(monitoring.ProcessingJobs(0, 100).Select(j => j.Value.Job))
            .Any(j => j?.Type == typeof(DemoJob));
    }

    /// <summary>Reads the store's datasets and models and sorts them into demo runs and the rest.</summary>
    public static async Task<DemoInventory> ReadAsync(ILabelStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var datasets = await store.GetProgressAsync(null, cancellationToken);
        var models = await store.ListModelsAsync(cancellationToken);
        var runs = new SortedDictionary<int, (string Prefix, List<DatasetProgress> Datasets, List<ModelRecord> Models)>();
        string? foreign = null;

        (string Prefix, List<DatasetProgress> Datasets, List<ModelRecord> Models) Run(string prefix)
        {
            var number = Number(prefix);
            if (!runs.TryGetValue(number, out var run))
            {
                runs[number] = run = (prefix, [], []);
            }

            return run;
        }

        foreach (var dataset in datasets)
        {
            if (DatasetRegex().Match(dataset.Dataset) is { Success: true } m && IsPrefix(m.Groups["prefix"].Value))
            {
                Run(m.Groups["prefix"].Value).Datasets.Add(dataset);
            }
            else
            {
                foreign ??= $"dataset '{dataset.Dataset}'";
            }
        }

        foreach (var model in models)
        {
            if (ModelRegex().Match(model.Version) is { Success: true } m && IsPrefix(m.Groups["prefix"].Value))
            {
                Run(m.Groups["prefix"].Value).Models.Add(model);
            }
            else
            {
                foreign ??= $"model '{model.Version}'";
            }
        }

        return new DemoInventory(runs.Values.Select(r => new DemoRun(r.Prefix, r.Datasets, r.Models)).ToList(), foreign);
    }

    [GeneratedRegex("^demo(?:-([0-9]{1,6}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex PrefixRegex();

    [GeneratedRegex("^(?<prefix>demo(?:-[0-9]{1,6})?)-(?:base|tagged|gold)$", RegexOptions.CultureInvariant)]
    private static partial Regex DatasetRegex();

    [GeneratedRegex("^(?<prefix>demo(?:-[0-9]{1,6})?)-(?:seed|r[0-9]{1,4})$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelRegex();
}
