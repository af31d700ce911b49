using System.Text.Json;
using Labeling.Cli;

namespace Labeling.Integration.Tests.Cli;

/// <summary>The <c>labeling eval</c> command, run in-process on the peer COCO sample.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private static readonly Dictionary<string, double> Pycocotools = new()
    {
        ["AP"] = 0.503647, ["AP50"] = 0.696973, ["AP75"] = 0.571667, ["APsmall"] = 0.593252, ["APmedium"] = 0.557991, ["APlarge"] = 0.489363,
        ["AR1"] = 0.386813, ["AR10"] = 0.593680, ["AR100"] = 0.595353, ["ARsmall"] = 0.654764, ["ARmedium"] = 0.603130, ["ARlarge"] = 0.553744,
    };

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync(args, output, error, TestContext.Current.CancellationToken);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("dets.json")]
    [InlineData("cocoapi_results.json")]
    public async Task Eval_Json_ReproducesThePycocotoolsNumbers(string detections)
    {
        var (code, output, error) = await RunAsync(
            "eval", "--gt", RepoPaths.SharedData("peer-coco-eval", "gts.json"), "--dets", RepoPaths.SharedData("peer-coco-eval", detections), "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal([.. Pycocotools.Keys, "per_category"], root.EnumerateObject().Select(p => p.Name));
        foreach (var (name, expected) in Pycocotools)
        {
            Assert.True(Math.Abs(root.GetProperty(name).GetDouble() - expected) <= 1e-6, $"{name}: {root.GetProperty(name).GetDouble()} vs {expected}");
        }

        Assert.Equal(70, root.GetProperty("per_category").EnumerateObject().Count());
        Assert.True(root.GetProperty("per_category").GetProperty("person").GetDouble() > 0);
    }

    [Fact]
    public async Task Eval_Table_PrintsSummaryLines_PerCategory_AndSplits()
    {
        var (code, output, error) = await RunAsync(
            "eval", "--gt", RepoPaths.SharedData("peer-coco-eval", "gts.json"), "--dets", RepoPaths.SharedData("peer-coco-eval", "cocoapi_results.json"),
            "--novel-classes", "zebra,giraffe", "--lvis-frequencies", RepoPaths.SharedData("clip-vocab", "lvis_v1_train_cat_info.json"));

        Assert.True(code == 0, error);
        Assert.Contains(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.504", output, StringComparison.Ordinal);
        Assert.Contains(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.554", output, StringComparison.Ordinal);
        Assert.Contains("AP base (", output, StringComparison.Ordinal);
        Assert.Contains("APr = ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_MissingFile_AndBadJson_FailWithAnErrorLine()
    {
        var bad = Path.Combine(_folder.Path, "bad.json");
        await File.WriteAllTextAsync(bad, "[{ \"image_id\": 1,", TestContext.Current.CancellationToken);
        var gt = RepoPaths.SharedData("peer-coco-eval", "gts.json");

        var missing = await RunAsync("eval", "--gt", Path.Combine(_folder.Path, "nope.json"), "--dets", bad);
        var broken = await RunAsync("eval", "--gt", gt, "--dets", bad, "--json");

        Assert.Equal(1, missing.Code);
        Assert.StartsWith("error:", missing.Err, StringComparison.Ordinal);
        Assert.Contains("not found", missing.Err, StringComparison.Ordinal);
        Assert.Equal(1, broken.Code);
        Assert.StartsWith("error:", broken.Err, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", broken.Err, StringComparison.Ordinal);
        Assert.Equal("", broken.Out);
    }

    public void Dispose() => _folder.Dispose();
}
