using System.Data.Common;
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

    /// <summary>
    /// Removes anything that looks like a secret from a message: in a connection string embedded in it (PostgreSQL,
    /// Azure Storage, Service Bus …), every key that names a password, secret, key, token or signature, blanked through
    /// <see cref="DbConnectionStringBuilder"/> so quoted values (<c>Password='a b'</c>, <c>Password="x;y"</c>) go whole;
    /// elsewhere, such a <c>key=value</c> (quoted or not) and a URL's <c>sig=</c>.
    /// </summary>
    public static string Redact(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var redacted = ConnectionString().Replace(message, m => RedactConnectionString(m.Value));
        return Secret().Replace(redacted, m => m.Groups["key"].Value + "=***");
    }

    private static string RedactConnectionString(string text)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            return text; // not a connection string after all: the key=value pass below still applies
        }

        var secrets = builder.Keys.Cast<string>().Where(IsSecretKey).ToList();
        if (secrets.Count == 0)
        {
            return text;
        }

        foreach (var key in secrets)
        {
            builder[key] = "***";
        }

        return builder.ConnectionString;
    }

    private static bool IsSecretKey(string key)
    {
        var name = key.Replace(" ", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        return name is "sig" or "pwd" || SecretWords.Any(w => name.Contains(w, StringComparison.Ordinal));
    }

    private static readonly string[] SecretWords = ["password", "secret", "key", "token", "signature"];

    // Runs of key=value pairs with at least one ';' between them. The first key is one word (so the words before it stay
    // text), later keys may have spaces ("User ID"); a value is quoted ('…' or "…", quotes doubled inside) or bare: up to
    // the next ';' inside the run, up to a space or quote at its end.
    [GeneratedRegex("""
        (?<![\w.-])[A-Za-z][\w.-]*\s*=\s*(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|[^;'"\r\n]*)
        (?:;\s*[A-Za-z][\w.-]*(?:\x20[A-Za-z][\w.-]*)*\s*=\s*(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|[^;'"\r\n]*))*
        ;\s*[A-Za-z][\w.-]*(?:\x20[A-Za-z][\w.-]*)*\s*=\s*(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|[^;'"\s]*);?
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex ConnectionString();

    // A secret-looking key=value anywhere else; the value quoted or up to ';', a space or a quote.
    [GeneratedRegex("""\b(?<key>[\w-]*(?:password|pwd|secret|key|token|signature)[\w-]*|sig)\s*=\s*(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|[^;\s'"]+)""",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Secret();
}
