using System.Text.Json;
using Labeling.Cli;
using Labeling.Trainer.Data;

namespace Labeling.Integration.Tests.Cli;

/// <summary><c>labeling train</c> in-process on the tiny preset: from a COCO folder and from the label store's pool, registering the result; bad input refused.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _config;
    private readonly string _shapes;

    public TrainCommandTests()
    {
        _config = Path.Combine(_folder.Path, "labeling.json");
        var data = Path.Combine(_folder.Path, "data");
        File.WriteAllText(_config, JsonSerializer.Serialize(new
        {
            Database = new { ConnectionString = $"Data Source={Path.Combine(data, "labeling.db")}" },
            LocalBlobStore = new { RootPath = Path.Combine(data, "blobs"), FlushToDisk = false },
            LabelBatch = new { ModelCacheFolder = Path.Combine(data, "models") },
        }));
        _shapes = Path.Combine(_folder.Path, "shapes");
        new ShapesWorld(new ShapesWorldOptions { Seed = 4, Width = 64, Height = 64, MinSize = 14, MaxSize = 30, MaxShapes = 2 })
            .WriteFolder(_shapes, 12, new ShapesFolderOptions { BoxedCount = 8 });
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync([.. args, "--config", _config], output, error, Ct);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Train_FromACocoFile_ExportsAndRegistersTheModel()
    {
        var (code, output, error) = await RunAsync("train", "--coco", Path.Combine(_shapes, "annotations.json"), "--steps", "6", "--batch", "4",
            "--preset", "tiny", "--out", Path.Combine(_folder.Path, "m.onnx"), "--register", "t1", "--activate", "--json");
        Assert.True(code == 0, error + output);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.Equal(6, result.GetProperty("steps").GetInt32());
        Assert.Equal(8, result.GetProperty("boxImages").GetInt64());
        Assert.True(File.Exists(Path.Combine(_folder.Path, "m.onnx")));
        Assert.True(File.Exists(Path.Combine(_folder.Path, "m.weights")));
        Assert.Equal("active", result.GetProperty("registered").GetProperty("status").GetString());

        var models = JsonDocument.Parse((await RunAsync("models", "list", "--json")).Out).RootElement;
        var model = Assert.Single(models.EnumerateArray());
        Assert.Equal("t1", model.GetProperty("version").GetString());
        Assert.Equal("hashbow-32", model.GetProperty("space").GetString());
    }

    [Fact]
    public async Task Train_FromThePool_UsesTheIngestedBoxesAndTags()
    {
        Assert.Equal(0, (await RunAsync("ingest", _shapes, "--dataset", "shapes")).Code);
        var (code, output, error) = await RunAsync("train", "--steps", "5", "--batch", "4", "--preset", "tiny", "--out", Path.Combine(_folder.Path, "pool.onnx"), "--json");
        Assert.True(code == 0, error + output);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.True(result.GetProperty("boxImages").GetInt64() > 0);
        Assert.True(result.GetProperty("tagOnlyImages").GetInt64() > 0);
        Assert.Contains("circle", result.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
    }

    [Theory]
    [InlineData("--preset", "huge", "tiny, small or base")]
    [InlineData("--steps", "0", "Trainer:Steps")]
    [InlineData("--activate", null, "--activate needs --register")]
    [InlineData("--coco", "/nope/annotations.json", "does not exist")]
    public async Task BadInput_SaysWhatIsWrong_AndExits1(string option, string? value, string expected)
    {
        string[] extra = value is null ? [option] : [option, value];
        string[] source = option == "--coco" ? [] : ["--coco", Path.Combine(_shapes, "annotations.json")];
        var (code, _, error) = await RunAsync(["train", "--out", Path.Combine(_folder.Path, "x.onnx"), .. source, .. extra]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains(expected, error);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "x.onnx")));
    }

    [Fact]
    public async Task Train_OnAnEmptyPool_SaysThereIsNoBoxData()
    {
        var (code, _, error) = await RunAsync("train", "--steps", "2", "--preset", "tiny", "--out", Path.Combine(_folder.Path, "e.onnx"));
        Assert.Equal(1, code);
        Assert.Contains("no image with boxes", error);
    }

    public void Dispose() => _folder.Dispose();
}
