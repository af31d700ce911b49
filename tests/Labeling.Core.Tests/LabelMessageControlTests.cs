using Labeling.Queues;

namespace Labeling.Core.Tests;

public sealed class LabelMessageControlTests
{
    [Fact]
    public void DatasetAndGeneration_RoundTrip()
    {
        var message = LabelMessage.Create([5, 6], dataset: 7, generation: 3);

        var json = message.ToJson();
        var parsed = LabelMessage.Parse(json);

        Assert.Contains("\"dataset\":7", json, StringComparison.Ordinal);
        Assert.Contains("\"gen\":3", json, StringComparison.Ordinal);
        Assert.Equal((7L, 3L), (parsed.Dataset, parsed.Generation));
        Assert.Equal([5L, 6L], parsed.ImageIds);
    }

    [Fact]
    public void WithoutDataset_TheFieldsAreLeftOut_AndAnOlderWritersMessageStillParses()
    {
        var json = LabelMessage.Create([1]).ToJson();
        var old = LabelMessage.Parse("""{"v":1,"batch":"6f1c2a52-3f4e-4c59-9d64-2a0f8f3f6a10","imageIds":[4,2]}""");

        Assert.DoesNotContain("dataset", json, StringComparison.Ordinal);
        Assert.DoesNotContain("gen", json, StringComparison.Ordinal);
        Assert.Equal(((long?)null, (long?)null), (old.Dataset, old.Generation));
        Assert.Equal(1, old.Version);
    }

    [Theory]
    [InlineData("""{"v":1,"batch":"6f1c2a52-3f4e-4c59-9d64-2a0f8f3f6a10","imageIds":[1],"dataset":0}""")]
    [InlineData("""{"v":1,"batch":"6f1c2a52-3f4e-4c59-9d64-2a0f8f3f6a10","imageIds":[1],"dataset":1,"gen":-1}""")]
    [InlineData("""{"v":1,"batch":"6f1c2a52-3f4e-4c59-9d64-2a0f8f3f6a10","imageIds":[1],"dataset":"pets"}""")]
    public void BadDatasetOrGeneration_IsMalformed(string body) =>
        Assert.Throws<MalformedMessageException>(() => LabelMessage.Parse(body));
}
