using Labeling.Testing;

namespace Labeling.Evaluation.Tests;

/// <summary>The peer numbers in ../shared/data/README.md: pycocotools on peer-coco-eval, Padilla's VOC table on peer-voc-eval.</summary>
public sealed class PeerReproductionTests
{
    // pycocotools COCOeval (bbox) on gts.json + dets.json, as printed to six decimals.
    public static readonly Dictionary<string, double> PeerCoco = new()
    {
        ["AP"] = 0.503647, ["AP50"] = 0.696973, ["AP75"] = 0.571667, ["APsmall"] = 0.593252, ["APmedium"] = 0.557991, ["APlarge"] = 0.489363,
        ["AR1"] = 0.386813, ["AR10"] = 0.593680, ["AR100"] = 0.595353, ["ARsmall"] = 0.654764, ["ARmedium"] = 0.603130, ["ARlarge"] = 0.553744,
    };

    [Theory]
    [InlineData("dets.json")]
    [InlineData("cocoapi_results.json")]
    public void Coco_PeerSample_ReproducesAllTwelvePycocotoolsStats(string detections)
    {
        var gt = CocoDataset.Load(RepoPaths.SharedData("peer-coco-eval", "gts.json"));
        var dets = CocoResults.Load(RepoPaths.SharedData("peer-coco-eval", detections), gt);

        var result = CocoEvaluator.Evaluate(gt, dets);

        Assert.Equal(734, dets.Count);
        foreach (var (name, expected) in PeerCoco)
        {
            Assert.True(Math.Abs(result[name] - expected) <= 1e-6 + 5e-7, $"{name}: {result[name]:R} vs pycocotools {expected}");
            Assert.Equal(expected.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture), result[name].ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Coco_PeerSample_PerCategoryAp_OnlyForCategoriesWithGroundTruth_AndAveragesToAP()
    {
        var gt = CocoDataset.Load(RepoPaths.SharedData("peer-coco-eval", "gts.json"));
        var result = CocoEvaluator.Evaluate(gt, CocoResults.Load(RepoPaths.SharedData("peer-coco-eval", "cocoapi_results.json"), gt));

        var withGt = gt.Annotations.Select(a => a.CategoryId).ToHashSet();
        Assert.Equal(80, result.PerCategory.Count);
        Assert.All(result.PerCategory, c => Assert.Equal(withGt.Contains(c.CategoryId), c.AveragePrecision is not null));
        Assert.Equal(result.AP, result.PerCategory.Where(c => c.AveragePrecision is not null).Average(c => c.AveragePrecision!.Value), 12);
    }

    [Theory]
    [InlineData(0.10, VocInterpolation.ElevenPoint, 0.3333333333)]
    [InlineData(0.30, VocInterpolation.ElevenPoint, 0.2683982683)]
    [InlineData(0.50, VocInterpolation.ElevenPoint, 0.0303030303)]
    [InlineData(0.75, VocInterpolation.ElevenPoint, 0.0)]
    [InlineData(0.10, VocInterpolation.EveryPoint, 0.3371980676)]
    [InlineData(0.30, VocInterpolation.EveryPoint, 0.2456866804)]
    [InlineData(0.50, VocInterpolation.EveryPoint, 0.0222222222)]
    [InlineData(0.75, VocInterpolation.EveryPoint, 0.0)]
    public void Voc_PeerTestCase1_ReproducesTheTable(double iou, VocInterpolation interpolation, double expected)
    {
        var gts = VocTextFormat.ReadFolder(RepoPaths.SharedData("peer-voc-eval", "gts"), detections: false);
        var dets = VocTextFormat.ReadFolder(RepoPaths.SharedData("peer-voc-eval", "dets"), detections: true);

        var results = VocEvaluator.Evaluate(gts, dets, iou, interpolation);

        var single = Assert.Single(results);
        Assert.Equal("object", single.ClassName);
        Assert.True(Math.Abs(single.AveragePrecision - expected) <= 1e-10, $"AP {single.AveragePrecision:R} vs {expected}");
        Assert.Equal(single.AveragePrecision, VocEvaluator.MeanAveragePrecision(results));
    }
}
