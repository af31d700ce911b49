using System.Text.Json;
using Labeling.Cli;
using Labeling.Vocabulary;

namespace Labeling.Integration.Tests.Cli;

/// <summary>
/// The CLI round trip on the embedded stack, in-process: migrate, models add, ingest, work, status,
/// query; each test in its own temp folder named by a --config file (the process's directory is never changed).
/// </summary>
public sealed partial class RoundTripCommandTests : IDisposable
{
    private static readonly HashBowEncoder Encoder = new(32);
    private static readonly float[,] Boxes = { { 16, 16, 48, 48 }, { 17, 17, 47, 47 }, { 20, 20, 28, 28 }, { 0, 0, 64, 64 } };
    private static readonly float[] Objectness = [0.9f, 0.6f, 0.8f, 0.2f];
    private static readonly string[] ProposalNames = ["person", "person", "cat", "background"];

    private readonly TempFolder _folder = new();
    private readonly string _config;

    public RoundTripCommandTests()
    {
        _config = Path.Combine(_folder.Path, "labeling.json");
        var data = Path.Combine(_folder.Path, "data");
        File.WriteAllText(_config, JsonSerializer.Serialize(new
        {
            Database = new { ConnectionString = $"Data Source={Path.Combine(data, "labeling.db")}" },
            LocalBlobStore = new { RootPath = Path.Combine(data, "blobs"), FlushToDisk = false },
            LabelBatch = new { ModelCacheFolder = Path.Combine(data, "models"), ReleaseBaseDelay = "00:00:00.100", RetryBaseDelay = "00:00:00.010" },
            LabelWorker = new { MinIdleDelay = "00:00:00.050", MaxIdleDelay = "00:00:00.200" },
        }));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync([.. args, "--config", _config], output, error, Ct);
        return (code, output.ToString(), error.ToString());
    }

    private async Task<JsonElement> RunJsonAsync(params string[] args)
    {
        var (code, output, error) = await RunAsync([.. args, "--json"]);
        Assert.True(code == 0, $"{string.Join(' ', args)} exited {code}: {error}{output}");
        using var json = JsonDocument.Parse(output);
        return json.RootElement.Clone();
    }

    private string Model(string name = "model.onnx")
    {
        var embeddings = DetectorModels.EmbeddingRows(Encoder, ProposalNames);

        var path = Path.Combine(_folder.Path, name);
        DetectorModels.ConstantRegionEmbedding(path, Boxes, Objectness, embeddings,
            new DetectorModels.RegionSettings { InputSize = 64, Space = Encoder.Space, LogitScale = 10, LogitBias = -8 });
        return path;
    }

    private string ImagesFolder()
    {
        var root = Path.Combine(_folder.Path, "photos");
        foreach (var (tag, photos) in new[] { ("person", new[] { "astronaut.png", "coffee.png" }), ("cat", new[] { "chelsea.png", "rocket.jpg" }) })
        {
            Directory.CreateDirectory(Path.Combine(root, tag));
            foreach (var photo in photos)
            {
                File.Copy(RepoPaths.SharedData("images", photo), Path.Combine(root, tag, photo));
            }
        }

        File.WriteAllBytes(Path.Combine(root, "cat", "empty.jpg"), []);
        return root;
    }

    [Fact]
    public async Task RoundTrip_Migrate_AddModel_Ingest_Work_Status_Query()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);

        var added = await RunJsonAsync("models", "add", Model(), "--version", "v1", "--activate");
        Assert.Equal("region-embedding/1", added.GetProperty("contract").GetString());
        Assert.Equal(Encoder.Space, added.GetProperty("embeddingSpace").GetString());
        Assert.True(File.Exists(Path.Combine(_folder.Path, "data", "blobs", "labeling", "models", "v1.onnx")));

        var models = await RunJsonAsync("models", "list");
        var model = Assert.Single(models.EnumerateArray());
        Assert.Equal("v1", model.GetProperty("version").GetString());
        Assert.Equal("active", model.GetProperty("status").GetString());

        var ingest = await RunJsonAsync("ingest", ImagesFolder(), "--dataset", "pets");
        Assert.Equal(5, ingest.GetProperty("filesCopied").GetInt32());
        Assert.Equal(5, ingest.GetProperty("scan").GetProperty("imagesCreated").GetInt32());

        var work = await RunJsonAsync("work", "--until-idle");
        Assert.Equal(5, work.GetProperty("images").GetInt64());

        var status = await RunJsonAsync("status");
        var pets = Assert.Single(status.GetProperty("datasets").EnumerateArray());
        Assert.Equal("pets", pets.GetProperty("dataset").GetString());
        Assert.Equal(5, pets.GetProperty("images").GetInt64());
        Assert.Equal(4, pets.GetProperty("labelled").GetInt64());
        Assert.Equal(1, pets.GetProperty("failed").GetInt64());
        Assert.Equal(0, pets.GetProperty("pending").GetInt64() + pets.GetProperty("queued").GetInt64());
        Assert.Equal("v1", status.GetProperty("activeModel").GetProperty("version").GetString());
        Assert.Equal(0, status.GetProperty("queueDepth").GetInt32());

        var persons = (await RunJsonAsync("query", "--class", "person", "--format", "json")).EnumerateArray().ToList();
        Assert.NotEmpty(persons);
        Assert.All(persons, b =>
        {
            Assert.Equal("person", b.GetProperty("className").GetString());
            Assert.Equal("v1", b.GetProperty("modelVersion").GetString());
            Assert.Contains("/person/", b.GetProperty("imagePath").GetString(), StringComparison.Ordinal);
        });

        var one = (await RunJsonAsync("query", "--class", "person", "--source", "pseudo", "--limit", "1")).EnumerateArray().ToList();
        Assert.Single(one);

        var (code, csv, error) = await RunAsync("query", "--format", "csv", "--dataset", "pets");
        Assert.True(code == 0, error);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith("box_id,image_id,dataset,image_path,class,", lines[0], StringComparison.Ordinal);
        Assert.True(lines.Length > persons.Count, csv);

        var table = await RunAsync("status");
        Assert.Equal(0, table.Code);
        Assert.Contains("pets", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_FailsWithAnErrorAndExitCode1()
    {
        Assert.Equal(0, (await RunAsync("migrate")).Code);
        var notAModel = Path.Combine(_folder.Path, "not-a-model.onnx");
        await File.WriteAllTextAsync(notAModel, "this is not onnx", Ct);

        foreach (var args in new[]
        {
            new[] { "models", "add", notAModel, "--version", "v1" },
            ["models", "add", Path.Combine(_folder.Path, "missing.onnx"), "--version", "v1"],
            ["models", "activate", "v9"],
            ["ingest", Path.Combine(_folder.Path, "no-such-folder"), "--dataset", "pets"],
            ["query", "--source", "robot"],
            ["query", "--limit", "0"],
            ["work", "--until-idle"], // no active model
        })
        {
            var (code, output, error) = await RunAsync(args);
            Assert.True(code == 1, $"{string.Join(' ', args)} exited {code}: {output}{error}");
            Assert.StartsWith("error:", error, StringComparison.Ordinal);
        }

        Assert.Empty((await RunJsonAsync("models", "list")).EnumerateArray());
        Assert.NotEqual(0, (await RunAsync("query", "--format", "xml")).Code);
        Assert.NotEqual(0, (await RunAsync("models", "add", notAModel)).Code); // --version is required
    }

    [Fact]
    public async Task Help_ListsTheNewCommands()
    {
        var (code, output, _) = await RunAsync("--help");

        Assert.Equal(0, code);
        foreach (var name in new[] { "models", "ingest", "work", "status", "query", "render", "export" })
        {
            Assert.Contains(name, output, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _folder.Dispose();
}
