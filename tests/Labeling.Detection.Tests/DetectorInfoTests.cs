using Labeling.Detection;

namespace Labeling.Detection.Tests;

public sealed class DetectorInfoTests
{
    private static Dictionary<string, string> RegionMetadata() => new()
    {
        ["labeling.contract"] = "region-embedding/1",
        ["labeling.input_size"] = "512",
        ["labeling.mean"] = "0.485,0.456,0.406",
        ["labeling.std"] = "0.229,0.224,0.225",
        ["labeling.logit_scale"] = "10",
        ["labeling.logit_bias"] = "-2.5",
        ["labeling.score_rule"] = "geometric-mean",
        ["labeling.embedding_space"] = "hashbow-256",
    };

    [Fact]
    public void RegionEmbedding_MetadataIsRead()
    {
        var info = DetectorInfo.FromMetadata(RegionMetadata(), [-1, 3, -1, -1]);

        Assert.Equal(DetectorContract.RegionEmbedding, info.Contract);
        Assert.Equal((512, 512, (int?)null), (info.InputWidth, info.InputHeight, info.FixedBatch));
        Assert.Equal([0.485f, 0.456f, 0.406f], info.Mean);
        Assert.Equal((10f, -2.5f, ScoreRule.GeometricMean, "hashbow-256"), (info.LogitScale, info.LogitBias, info.ScoreRule, info.EmbeddingSpace));
    }

    [Theory]
    [InlineData("labeling.mean")]
    [InlineData("labeling.std")]
    [InlineData("labeling.logit_scale")]
    [InlineData("labeling.embedding_space")]
    public void RegionEmbedding_MissingRequiredMetadata_IsAClearError(string key)
    {
        var metadata = RegionMetadata();
        metadata.Remove(key);

        var error = Assert.Throws<DetectorContractException>(() => DetectorInfo.FromMetadata(metadata, [1, 3, 512, 512]));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("labeling.std", "1,0,1")]
    [InlineData("labeling.mean", "0.5,0.5")]
    [InlineData("labeling.logit_scale", "NaN")]
    [InlineData("labeling.input_size", "big")]
    [InlineData("labeling.score_rule", "max")]
    [InlineData("labeling.contract", "region-embedding/9")]
    public void RegionEmbedding_BadMetadata_IsAClearError(string key, string value)
    {
        var metadata = RegionMetadata();
        metadata[key] = value;

        Assert.Throws<DetectorContractException>(() => DetectorInfo.FromMetadata(metadata, [1, 3, 512, 512]));
    }

    [Fact]
    public void Ultralytics_NamesAndImageSize_AreRead()
    {
        var metadata = new Dictionary<string, string>
        {
            ["names"] = "{0: 'person', 1: 'bicycle', 2: \"traffic light\", 3: 'it\\'s'}",
            ["imgsz"] = "[640, 480]",
            ["task"] = "detect",
        };

        var info = DetectorInfo.FromMetadata(metadata, [1, 3, -1, -1]);

        Assert.Equal(DetectorContract.FixedVocabulary, info.Contract);
        Assert.Equal(["person", "bicycle", "traffic light", "it's"], info.ClassNames);
        Assert.Equal((480, 640, 1), (info.InputWidth, info.InputHeight, info.FixedBatch));
        Assert.Equal([0f, 0f, 0f], info.Mean);
        Assert.Equal([1f, 1f, 1f], info.Std);
    }

    [Fact]
    public void NoContract_IsAClearError()
    {
        var error = Assert.Throws<DetectorContractException>(() => DetectorInfo.FromMetadata(new Dictionary<string, string>(), [1, 3, 64, 64]));

        Assert.Contains("neither detector contract", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NamesWithGaps_AreRefused() =>
        Assert.Throws<DetectorContractException>(() => DetectorInfo.ParseNames("{0: 'a', 2: 'c'}"));

    [Fact]
    public void ScoreRules_CombineAsDocumented()
    {
        Assert.Equal(0.6f, Scores.Combine(ScoreRule.GeometricMean, 0.9f, 0.4f), 5);
        Assert.Equal(0.36f, Scores.Combine(ScoreRule.Product, 0.9f, 0.4f), 5);
        Assert.Equal(0.4f, Scores.Combine(ScoreRule.ClassOnly, 0.9f, 0.4f), 5);
        Assert.Equal(0.5f, Scores.Sigmoid(0));
    }
}
