using System.Text.Json;
using System.Text.Json.Nodes;
using Labeling.Cli;
using Labeling.Server;
using Labeling.Vocabulary;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Labeling.Server.Tests;

/// <summary>
/// A workspace of one test: a temp folder with a <c>labeling.json</c> (embedded stack under it, or
/// PostgreSQL), the shared photos sorted into tag folders, a writer-built detector that finds
/// persons and cats, the CLI run in-process against the same configuration, and the real host
/// (<see cref="ServerExtensions"/>) on a free loopback port.
/// </summary>
public sealed class Workspace : IAsyncDisposable
{
    private static readonly HashBowEncoder Encoder = new(32);
    private static readonly float[,] Boxes = { { 16, 16, 48, 48 }, { 20, 20, 28, 28 }, { 0, 0, 64, 64 } };
    private static readonly float[] Objectness = [0.9f, 0.8f, 0.2f];
    private static readonly string[] ProposalNames = ["person", "cat", "background"];

    private readonly TempFolder _folder = new();
    private readonly List<WebApplication> _hosts = [];

    public Workspace(object? extraSettings = null, string? postgresConnectionString = null, string? azureConnectionString = null)
    {
        Config = Path.Combine(_folder.Path, "labeling.json");
        var data = Path.Combine(_folder.Path, "data");
        var settings = new Dictionary<string, object>
        {
            ["Database"] = postgresConnectionString is null
                ? new { Provider = "Sqlite", ConnectionString = $"Data Source={Path.Combine(data, "labeling.db")}" }
                : new { Provider = "Postgres", ConnectionString = postgresConnectionString },
            ["LocalBlobStore"] = new { RootPath = Path.Combine(data, "blobs"), FlushToDisk = false },
            ["LabelBatch"] = new { ModelCacheFolder = Path.Combine(data, "models"), ReleaseBaseDelay = "00:00:00.100", RetryBaseDelay = "00:00:00.010" },
            ["LabelWorker"] = new { MinIdleDelay = "00:00:00.050", MaxIdleDelay = "00:00:00.200" },
            ["Server"] = ServerSettings(extraSettings),
        };
        if (azureConnectionString is not null)
        {
            // Scale-out: Azure blobs and queues (Azurite), names of this test's own.
            var suffix = Guid.NewGuid().ToString("N")[..10];
            settings["Storage"] = new { Mode = "Azure" };
            settings["AzureStorage"] = new { ConnectionString = azureConnectionString, BlobContainer = "t" + suffix };
            settings["Ingest"] = new { LabelQueue = "label-" + suffix };
        }

        File.WriteAllText(Config, JsonSerializer.Serialize(settings));
    }

    public string Folder => _folder.Path;

    /// <summary>Yearly schedules: the recurring jobs are listed but only run when a test triggers them.</summary>
    public static object QuietJobs { get; } = new { ScanInbox = "0 0 1 1 *", Retrain = "0 0 1 1 *", Relabel = "0 0 1 1 *" };

    public string Config { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Runs a CLI command against this workspace's configuration; fails the test on a non-zero exit.</summary>
    public async Task<string> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync([.. args, "--config", Config], output, error, Ct);
        Assert.True(code == 0, $"labeling {string.Join(' ', args)} exited {code}: {error}{output}");
        return output.ToString();
    }

    /// <summary>Registers the person/cat detector as <paramref name="version"/>, activated unless <paramref name="activate"/> is false (a candidate).</summary>
    public async Task AddModelAsync(string version = "v1", bool activate = true)
    {
        var embeddings = DetectorModels.EmbeddingRows(Encoder, ProposalNames);

        var path = Path.Combine(_folder.Path, version + ".onnx");
        DetectorModels.ConstantRegionEmbedding(path, Boxes, Objectness, embeddings,
            new DetectorModels.RegionSettings { InputSize = 64, Space = Encoder.Space, LogitScale = 10, LogitBias = -8 });
        await CliAsync(activate ? ["models", "add", path, "--version", version, "--activate"] : ["models", "add", path, "--version", version]);
    }

    /// <summary>The shared photos sorted into tag folders: person (astronaut, coffee) and cat (chelsea, rocket).</summary>
    public string PhotosFolder()
    {
        var root = Path.Combine(_folder.Path, "photos");
        foreach (var (tag, photos) in new[] { ("person", new[] { "astronaut.png", "coffee.png" }), ("cat", new[] { "chelsea.png", "rocket.jpg" }) })
        {
            Directory.CreateDirectory(Path.Combine(root, tag));
            foreach (var photo in photos)
            {
                File.Copy(RepoPaths.SharedData("images", photo), Path.Combine(root, tag, photo), overwrite: true);
            }
        }

        return root;
    }

    /// <summary>Copies the photos into the blob inbox as <c>inbox/<paramref name="dataset"/>/…</c> without scanning them.</summary>
    public void DropIntoInbox(string dataset)
    {
        var source = PhotosFolder();
        var inbox = Path.Combine(_folder.Path, "data", "blobs", "labeling", "inbox", dataset);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(inbox, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    /// <summary>Ingests the photos as <paramref name="dataset"/> and labels them with the active model (batch mode).</summary>
    public async Task IngestAndLabelAsync(string dataset = "pets")
    {
        await CliAsync("ingest", PhotosFolder(), "--dataset", dataset);
        await CliAsync("work", "--until-idle");
    }

    /// <summary>Starts the host as <c>labeling serve</c> would, on a free loopback port; returns its base address. <paramref name="map"/> adds endpoints after the host's own.</summary>
    public async Task<(WebApplication App, Uri BaseAddress)> StartHostAsync(Action<WebApplicationBuilder>? configure = null, string url = "http://127.0.0.1:0", Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = _folder.Path });
        builder.Configuration.AddJsonFile(Config);
        builder.WebHost.UseUrls(url);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configure?.Invoke(builder);
        builder.AddLabelingServer();
        var app = builder.Build();
        app.MapLabelingServer();
        map?.Invoke(app);
        await app.StartAsync(Ct);
        _hosts.Add(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>Sets a top-level configuration section (other than <c>Server</c>) before a host starts.</summary>
    public void SetSection(string name, object settings)
    {
        var root = JsonNode.Parse(File.ReadAllText(Config))!.AsObject();
        root[name] = JsonSerializer.SerializeToNode(settings);
        File.WriteAllText(Config, root.ToJsonString());
    }

    /// <summary>Replaces the <c>Server</c> section before a host starts: for settings that name paths inside this workspace.</summary>
    public void SetServerSettings(object settings)
    {
        var root = JsonNode.Parse(File.ReadAllText(Config))!.AsObject();
        root["Server"] = ServerSettings(settings);
        File.WriteAllText(Config, root.ToJsonString());
    }

    /// <summary>
    /// The <c>Server</c> section: <paramref name="extraSettings"/> or quiet jobs. The fresh-start demo
    /// would train for minutes in every host on a fresh workspace, so it is off unless a test sets <c>Demo</c>.
    /// </summary>
    private static JsonObject ServerSettings(object? extraSettings)
    {
        var server = JsonSerializer.SerializeToNode(extraSettings ?? new { Jobs = QuietJobs })!.AsObject();
        server.TryAdd("Demo", new JsonObject { ["RunOnFreshStart"] = false });
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync(CancellationToken.None);
            await host.DisposeAsync();
        }

        _folder.Dispose();
    }
}
