namespace Labeling.Evaluation.Tests;

/// <summary>pycocotools' rules on tiny hand-built cases, each with the number pycocotools gives.</summary>
public sealed class CocoRuleTests
{
    private static CocoAnnotation Gt(long id, long image, long category, double x, double y, double w, double h, bool crowd = false, double? area = null) =>
        new(id, image, category, new CocoBox(x, y, w, h), area ?? w * h, crowd);

    private static CocoAnnotation Dt(long id, long image, long category, double score, double x, double y, double w, double h) =>
        new(id, image, category, new CocoBox(x, y, w, h), w * h, false, score);

    private static CocoDataset Dataset(long[] images, params CocoAnnotation[] annotations) =>
        new(images, [new CocoCategory(1, "cat"), new CocoCategory(2, "dog")], annotations);

    [Fact]
    public void CrowdGroundTruth_AbsorbsDetections_ButIsNeverAMiss()
    {
        // A 100x100 crowd region and one regular box. A small detection inside the crowd scores highest:
        // IoU against a crowd is intersection over the detection's area (1.0 here), so it matches the
        // crowd, is ignored rather than a false positive, and the unmatched-by-anything-else crowd is no miss.
        var gt = Dataset([1], Gt(1, 1, 1, 200, 200, 20, 20), Gt(2, 1, 1, 0, 0, 100, 100, crowd: true));
        var dets = new[] { Dt(1, 1, 1, 0.95, 10, 10, 10, 10), Dt(2, 1, 1, 0.9, 200, 200, 20, 20), Dt(3, 1, 1, 0.8, 50, 50, 10, 10) };

        var result = CocoEvaluator.Evaluate(gt, dets);

        Assert.Equal(1.0, result.AP, 12);
        Assert.Equal(1.0, result.AR100, 12);
        Assert.Equal(1.0, CocoEvaluator.Iou(dets[0].Box, gt.Annotations[1].Box, crowd: true), 12);
    }

    [Fact]
    public void MaxDets_IsAppliedPerImageAndCategory_NotPerImage()
    {
        // One image, one box per category, each found: AR1 counts one detection per (image, category).
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10), Gt(2, 1, 2, 50, 50, 10, 10));
        var dets = new[] { Dt(1, 1, 1, 0.9, 0, 0, 10, 10), Dt(2, 1, 2, 0.8, 50, 50, 10, 10) };

        Assert.Equal(1.0, CocoEvaluator.Evaluate(gt, dets).AR1, 12);

        // Two boxes of one category: AR1 keeps only the best detection of that (image, category).
        var two = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10), Gt(2, 1, 1, 50, 50, 10, 10));
        var result = CocoEvaluator.Evaluate(two, dets.Select(d => d with { CategoryId = 1 }).ToArray());
        Assert.Equal(0.5, result.AR1, 12);
        Assert.Equal(1.0, result.AR10, 12);
    }

    [Theory]
    [InlineData(32 * 32, "APsmall", "APmedium")]
    [InlineData(96 * 96, "APmedium", "APlarge")]
    public void AreaRanges_AreInclusiveAtBothEnds(double area, string lower, string upper)
    {
        // The ground truth's area field (not w*h) decides the range; a box exactly on a boundary counts in both.
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 40, 40, area: area));
        var result = CocoEvaluator.Evaluate(gt, [Dt(1, 1, 1, 0.9, 0, 0, 40, 40)]);

        Assert.Equal(1.0, result[lower], 12);
        Assert.Equal(1.0, result[upper], 12);
    }

    [Fact]
    public void EqualScores_KeepFileOrder_WithinAnImage()
    {
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10));
        var miss = Dt(1, 1, 1, 0.5, 100, 100, 10, 10);
        var hit = Dt(2, 1, 1, 0.5, 0, 0, 10, 10);

        // Stable sort (numpy mergesort): the false positive listed first stays first.
        Assert.Equal(0.5, CocoEvaluator.Evaluate(gt, [miss, hit]).AP, 12);
        Assert.Equal(1.0, CocoEvaluator.Evaluate(gt, [hit, miss]).AP, 12);
    }

    [Fact]
    public void EqualScores_AcrossImages_FollowImageIdOrder_NotFileOrder()
    {
        // accumulate concatenates per-image results in sorted image id order before its stable sort.
        var gt = Dataset([2, 1], Gt(1, 1, 1, 0, 0, 10, 10));
        var falsePositiveOnImage2 = Dt(1, 2, 1, 0.5, 0, 0, 10, 10);
        var hitOnImage1 = Dt(2, 1, 1, 0.5, 0, 0, 10, 10);

        Assert.Equal(1.0, CocoEvaluator.Evaluate(gt, [falsePositiveOnImage2, hitOnImage1]).AP, 12);
    }

    [Fact]
    public void CategoryWithoutGroundTruth_IsExcludedFromTheMean()
    {
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10));
        var result = CocoEvaluator.Evaluate(gt, [Dt(1, 1, 1, 0.9, 0, 0, 10, 10), Dt(2, 1, 2, 0.99, 0, 0, 10, 10)]);

        Assert.Equal(1.0, result.AP, 12);
        Assert.Equal(1.0, result.PerCategory.Single(c => c.Name == "cat").AveragePrecision!.Value, 12);
        Assert.Null(result.PerCategory.Single(c => c.Name == "dog").AveragePrecision);
    }

    [Fact]
    public void DetectionsOnAnImageWithoutGroundTruth_AreFalsePositives()
    {
        var gt = Dataset([1, 2], Gt(1, 1, 1, 0, 0, 10, 10));
        var result = CocoEvaluator.Evaluate(gt, [Dt(1, 2, 1, 0.9, 0, 0, 10, 10), Dt(2, 1, 1, 0.5, 0, 0, 10, 10)]);

        // FP then TP: precision [0, .5] made monotone [.5, .5]; recall [0, 1].
        Assert.Equal(0.5, result.AP, 12);
        Assert.Equal(1.0, result.AR100, 12);
    }

    [Fact]
    public void IouExactlyAtTheThreshold_Matches()
    {
        // IoU 50/100 = 0.5 exactly: a match at 0.50 only, so AP = 1/10 over the ten thresholds.
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10));
        var result = CocoEvaluator.Evaluate(gt, [Dt(1, 1, 1, 0.9, 0, 0, 10, 5)]);

        Assert.Equal(1.0, result.AP50, 12);
        Assert.Equal(0.0, result.AP75, 12);
        Assert.Equal(0.1, result.AP, 12);
        Assert.Equal(0.75, CocoEvaluator.IouThresholds[5]);
    }

    [Fact]
    public void NoDetections_GiveZeroWhereThereIsGroundTruth_AndMinusOneWhereThereIsNone()
    {
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10));
        var result = CocoEvaluator.Evaluate(gt, []);

        Assert.Equal(0.0, result.AP);
        Assert.Equal(0.0, result.AR100);
        Assert.Equal(-1.0, result.APlarge);
        Assert.Equal(-1.0, result.ARmedium);

        var empty = CocoEvaluator.Evaluate(Dataset([1]), []);
        Assert.All(empty.Stats, s => Assert.Equal(-1.0, s));
        Assert.All(empty.PerCategory, c => Assert.Null(c.AveragePrecision));
    }

    [Fact]
    public void SummaryLines_LookLikePycocotools()
    {
        var gt = Dataset([1], Gt(1, 1, 1, 0, 0, 10, 10));
        var lines = CocoEvaluator.Evaluate(gt, [Dt(1, 1, 1, 0.9, 0, 0, 10, 5)]).SummaryLines().ToList();

        Assert.Equal(12, lines.Count);
        Assert.Equal(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.100", lines[0]);
        Assert.Equal(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000", lines[11]);
    }
}
