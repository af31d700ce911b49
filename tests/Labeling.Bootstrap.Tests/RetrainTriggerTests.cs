using Labeling.Labels;

namespace Labeling.Bootstrap.Tests;

/// <summary>The optional retrain trigger on hand-made pool sizes.</summary>
public sealed class RetrainTriggerTests
{
    private static ModelRecord Active(string? metrics) => new(1, "auto-3", "region-embedding/1", "models/auto-3.onnx", "a", "hashbow-256", null, ModelStatus.Active, metrics);

    private const string TrainedOn1000 = """{"gold": {"AP": 0.5}, "store": {"images": 1000, "tagClasses": 30}}""";

    [Theory]
    [InlineData(1199, 30, null)]
    [InlineData(1200, 30, "the pool grew from 1000 to 1200 images since auto-3 (trigger: +20 %)")]
    [InlineData(1000, 31, "1 tag class(es) appeared since auto-3 (30 → 31)")]
    public void Trigger_FiresOnGrowthOrNewTags(long images, long classes, string? expected)
    {
        var options = new RetrainingOptions { TriggerOnGrowth = 0.2, TriggerOnNewTags = true };

        Assert.Equal(expected, RetrainTrigger.Reason(new PoolSummary(images, classes), Active(TrainedOn1000), options));
    }

    [Fact]
    public void Trigger_IsOffByDefault_AndSilentWithoutARecordOfTheActiveModelsPool()
    {
        var grown = new PoolSummary(5000, 99);
        Assert.Null(RetrainTrigger.Reason(grown, Active(TrainedOn1000), new RetrainingOptions()));
        var on = new RetrainingOptions { TriggerOnGrowth = 0.1, TriggerOnNewTags = true };
        Assert.Null(RetrainTrigger.Reason(grown, null, on));
        Assert.Null(RetrainTrigger.Reason(grown, Active(null), on));
        Assert.Null(RetrainTrigger.Reason(grown, Active("""{"gold": {}}"""), on));
        Assert.Null(RetrainTrigger.Reason(grown, Active("""{"store": {"images": "many"}}"""), on));
    }
}
