using Labeling.Testing;

namespace Labeling.Evaluation.Tests;

public sealed class EvaluationSplitsTests
{
    private static readonly CategoryAveragePrecision[] PerCategory =
    [
        new(1, "person", 0.8), new(2, "traffic light", 0.4), new(3, "aerosol can", 0.2), new(4, "zebra", null),
    ];

    [Fact]
    public void BaseAndNovel_AreMeansOverCategoriesWithGroundTruth()
    {
        var byBase = EvaluationSplits.ByBaseClasses(PerCategory, ["person", "zebra"]);
        var byNovel = EvaluationSplits.ByNovelClasses(PerCategory, ["traffic_light", "aerosol can"]);

        Assert.Equal(new BaseNovelSplit(0.8, 0.30000000000000004, 1, 2), byBase);
        Assert.Equal(byBase, byNovel);
    }

    [Fact]
    public void LvisFrequencies_FromTheRealFile_GiveAPrAPcAPf()
    {
        var frequencies = EvaluationSplits.LoadLvisFrequencies(RepoPaths.SharedData("clip-vocab", "lvis_v1_train_cat_info.json"));

        var split = EvaluationSplits.ByLvisFrequency(PerCategory, frequencies);

        Assert.Equal(1203, frequencies.Count);
        Assert.Equal('c', frequencies["aerosol_can"]);
        Assert.Equal(0.6, split.APf!.Value, 12); // person, traffic_light
        Assert.Equal(0.2, split.APc!.Value, 12); // aerosol_can
        Assert.Null(split.APr);
    }
}
