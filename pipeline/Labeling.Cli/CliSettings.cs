using System.Text.RegularExpressions;
using Labeling.Sql;
using Microsoft.Extensions.Configuration;

namespace Labeling.Cli;

/// <summary>Settings of one CLI run: ./labeling.json (or --config), then LABELING_* environment variables.</summary>
internal sealed partial class CliSettings
{
    private CliSettings(IConfiguration configuration) => Configuration = configuration;

    /// <summary>Everything the run was configured with (sections Storage, Database, LocalBlobStore, Queues, AzureStorage, Ingest, LabelBatch, LabelWorker, Detector).</summary>
    public IConfiguration Configuration { get; }

    public DatabaseOptions Database { get; } = new();

    public static CliSettings Load(FileInfo? configFile)
    {
        if (configFile is { Exists: false })
        {
            throw new FileNotFoundException($"Config file '{configFile.FullName}' does not exist.");
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile(configFile?.FullName ?? Path.GetFullPath("labeling.json"), optional: configFile is null)
            .AddEnvironmentVariables("LABELING_")
            .Build();
        var settings = new CliSettings(configuration);
        configuration.GetSection(DatabaseOptions.Section).Bind(settings.Database);
        return settings;
    }

    /// <summary>Removes anything that looks like a secret (password=…, AccountKey=…) from a message.</summary>
    public static string Redact(string message) => Secret().Replace(message, m => m.Groups[1].Value + "=***");

    [GeneratedRegex(@"\b(password|pwd|accountkey|sharedaccesssignature|sig)\s*=\s*[^;\s]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Secret();
}
