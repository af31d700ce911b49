using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Cli;

/// <summary>
/// The backends and handlers of one CLI run, wired from configuration the way the worker host wires
/// them: <c>Storage:Mode</c> <c>Embedded</c> (default: local folder under ./data, SQLite queue table,
/// SQLite) or <c>Azure</c> (Azure Blob Storage and Queues, the database of <c>Database</c>).
/// </summary>
internal static class CliServices
{
    public static ServiceProvider Build(CliSettings settings)
    {
        var configuration = settings.Configuration;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IMeterFactory, MeterFactory>(); // the worker's counters; nothing reads them in a CLI run
        services.AddLabelingBackends(configuration);
        services.AddLabelingFunctions(configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}

/// <summary>Bad input or state the user can fix: printed as <c>error: …</c>, exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>A plain <see cref="IMeterFactory"/> (AddMetrics without its package): meters live as long as the run.</summary>
internal sealed class MeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
            _meters.Clear();
        }
    }
}
