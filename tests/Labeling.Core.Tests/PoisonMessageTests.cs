using Labeling.Queues;

namespace Labeling.Core.Tests;

public sealed class PoisonMessageTests
{
    [Fact]
    public void ToJson_RoundTrips()
    {
        var poison = new PoisonMessage("label", "id-1", 6, "boom", DateTimeOffset.UnixEpoch, """{"v":1}""");

        Assert.Equal(poison, PoisonMessage.Parse(poison.ToJson()));
    }

    [Fact]
    public void ToJson_AlwaysFitsInOneQueueMessage_EvenForAMaximalBodyThatGrowsWhenEscaped()
    {
        var body = new string('"', QueueLimits.MaxMessageBytes / 2);
        var poison = new PoisonMessage("label", "id", 1, new string('e', 100_000), DateTimeOffset.UnixEpoch, body);

        var json = poison.ToJson();

        Assert.True(System.Text.Encoding.UTF8.GetByteCount(json) <= QueueLimits.MaxMessageBytes);
        Assert.Contains("truncated", PoisonMessage.Parse(json).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void QueueLimits_RefuseOversizedBodiesAndTimeouts()
    {
        Assert.Throws<ArgumentException>(() => QueueLimits.ValidateBody(new string('\u00e9', QueueLimits.MaxMessageBytes / 2 + 1)));
        QueueLimits.ValidateBody(new string('x', QueueLimits.MaxMessageBytes));
        Assert.Throws<ArgumentOutOfRangeException>(() => QueueLimits.ValidateVisibility(TimeSpan.FromDays(8)));
        Assert.Throws<ArgumentOutOfRangeException>(() => QueueLimits.ValidateVisibility(TimeSpan.FromSeconds(-1)));
    }
}

public sealed class LabelMessageTests
{
    [Fact]
    public void Create_ThenParse_RoundTrips_InTheDocumentedShape()
    {
        var message = LabelMessage.Create([3, 1, 2]);

        var json = message.ToJson();
        var parsed = LabelMessage.Parse(json);

        Assert.StartsWith("{\"v\":1,\"batch\":\"", json, StringComparison.Ordinal);
        Assert.Contains("\"imageIds\":[3,1,2]", json, StringComparison.Ordinal);
        Assert.Equal(message.Batch, parsed.Batch);
        Assert.Equal([3L, 1, 2], parsed.ImageIds);
    }

    [Theory]
    [InlineData("", "not valid")]
    [InlineData("not json", "not valid")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("{\"batch\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"imageIds\":[1]}", "no numeric version")]
    [InlineData("{\"v\":2,\"batch\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"imageIds\":[1]}", "Unknown message version 2")]
    [InlineData("{\"v\":1,\"imageIds\":[1]}", "no batch id")]
    [InlineData("{\"v\":1,\"batch\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"imageIds\":[]}", "no image ids")]
    [InlineData("{\"v\":1,\"batch\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"imageIds\":[1,1]}", "distinct positive")]
    [InlineData("{\"v\":1,\"batch\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"imageIds\":[0]}", "distinct positive")]
    [InlineData("{\"v\":1,\"batch\":\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\",\"imageIds\":[\"x\"]}", "not valid")]
    [InlineData("{\"v\":1,\"batch\":\"nope\",\"imageIds\":[1]}", "not valid")]
    public void Parse_RefusesMalformedMessages_SayingWhy(string body, string reason) =>
        Assert.Contains(reason, Assert.Throws<MalformedMessageException>(() => LabelMessage.Parse(body)).Message, StringComparison.Ordinal);

    [Fact]
    public void Create_RefusesEmptyAndOversizedBatches_AndTheLargestFitsInOneQueueMessage()
    {
        Assert.Throws<ArgumentException>(() => LabelMessage.Create([]));
        Assert.Throws<ArgumentException>(() => LabelMessage.Create(Enumerable.Range(1, LabelMessage.MaxImages + 1).Select(i => (long)i).ToArray()));

        var largest = LabelMessage.Create(Enumerable.Range(0, LabelMessage.MaxImages).Select(i => long.MaxValue - i).ToArray()).ToJson();

        QueueLimits.ValidateBody(largest);
    }
}
