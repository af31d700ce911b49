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
