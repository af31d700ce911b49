using Labeling.Queues;

namespace Labeling.Integration.Tests.Queues;

// PeekAsync: reading a queue (its dead letters) without taking anything.
public abstract partial class WorkQueueContract
{
    [Fact]
    public async Task Peek_ReturnsVisibleMessagesInOrder_WithoutHidingThemOrCountingADequeue()
    {
        var queue = await CreateQueueAsync();
        var first = await queue.SendAsync("one", null, Ct);
        var second = await queue.SendAsync("two", null, Ct);
        await queue.SendAsync("later", TimeSpan.FromMinutes(5), Ct);

        var peeked = await queue.PeekAsync(QueueLimits.MaxReceiveCount, Ct);
        var again = await queue.PeekAsync(1, Ct);

        Assert.Equal([(first, "one", 0L), (second, "two", 0L)], peeked.Select(m => (m.MessageId, m.Body, m.DequeueCount)));
        Assert.Equal(first, Assert.Single(again).MessageId);
        var received = await queue.ReceiveAsync(10, TimeSpan.FromMinutes(5), Ct);
        Assert.Equal([first, second], received.Select(m => m.MessageId));
        Assert.All(received, m => Assert.Equal(1, m.DequeueCount));
        Assert.Empty(await queue.PeekAsync(5, Ct));
    }

    [Fact]
    public async Task Peek_OfThePoisonQueue_ShowsTheDeadLetterWithItsError()
    {
        var factory = await CreateFactoryAsync();
        var queue = factory.GetQueue("q" + Guid.NewGuid().ToString("N")[..20]);
        await queue.CreateIfNotExistsAsync(Ct);
        await queue.SendAsync("""{"v":1}""", null, Ct);
        var message = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromMinutes(5), Ct));
        await queue.DeadLetterAsync(message, "boom: it broke", Ct);

        var poison = factory.GetQueue(queue.PoisonQueueName);
        var letter = PoisonMessage.Parse(Assert.Single(await poison.PeekAsync(10, Ct)).Body);

        Assert.Equal((queue.Name, message.MessageId, "boom: it broke", """{"v":1}"""), (letter.Queue, letter.MessageId, letter.Error, letter.Body));
        Assert.Equal(1, await poison.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task Peek_RefusesCountsOutsideOneTo32()
    {
        var queue = await CreateQueueAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.PeekAsync(0, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.PeekAsync(QueueLimits.MaxReceiveCount + 1, Ct));
    }
}
