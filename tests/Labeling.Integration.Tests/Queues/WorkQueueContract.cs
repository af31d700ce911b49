using System.Diagnostics;
using Labeling.Queues;

namespace Labeling.Integration.Tests.Queues;

/// <summary>What every <see cref="IWorkQueue"/> must do (Azure Storage Queue semantics). Each implementation's test class derives from this.</summary>
public abstract partial class WorkQueueContract
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    /// <summary>A factory whose queues give up on a message after <paramref name="maxDequeueCount"/> receives.</summary>
    protected abstract Task<IWorkQueueFactory> CreateFactoryAsync(int maxDequeueCount = 5);

    protected async Task<IWorkQueue> CreateQueueAsync(int maxDequeueCount = 5)
    {
        var queue = (await CreateFactoryAsync(maxDequeueCount)).GetQueue("q" + Guid.NewGuid().ToString("N")[..20]);
        await queue.CreateIfNotExistsAsync(Ct);
        return queue;
    }

    /// <summary>Receives until something arrives or <paramref name="within"/> passes (lease expiry is a time-based property).</summary>
    private static async Task<(IReadOnlyList<QueueMessage> Messages, TimeSpan Waited)> ReceiveWithinAsync(IWorkQueue queue, TimeSpan within, TimeSpan visibility)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var messages = await queue.ReceiveAsync(1, visibility, Ct);
            if (messages.Count > 0 || clock.Elapsed > within)
            {
                return (messages, clock.Elapsed);
            }

            await Task.Delay(50, Ct);
        }
    }

    [Fact]
    public async Task Send_ThenReceive_ReturnsTheBodyWithDequeueCountOne()
    {
        var queue = await CreateQueueAsync();
        const string body = """{"v":1,"batch":"b","imageIds":[1,2,3],"text":"quote ' \" <&> \u00e9 \U0001F98A"}""";

        var id = await queue.SendAsync(body, null, Ct);
        var received = Assert.Single(await queue.ReceiveAsync(10, Long, Ct));

        Assert.Equal(id, received.MessageId);
        Assert.Equal(body, received.Body);
        Assert.Equal(1, received.DequeueCount);
        Assert.False(string.IsNullOrEmpty(received.PopReceipt));
        Assert.True(received.NextVisibleOn > DateTimeOffset.UtcNow.AddMinutes(4));
    }

    [Fact]
    public async Task Receive_OnEmptyQueue_ReturnsEmptyAtOnce()
    {
        var queue = await CreateQueueAsync();
        var clock = Stopwatch.StartNew();

        var received = await queue.ReceiveAsync(32, Long, Ct);

        Assert.Empty(received);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"an empty receive took {clock.Elapsed}");
    }

    [Fact]
    public async Task Receive_HidesMessage_UntilVisibilityTimeoutExpires()
    {
        var queue = await CreateQueueAsync();
        await queue.SendAsync("m", null, Ct);
        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(2), Ct));
        var clock = Stopwatch.StartNew();

        Assert.Empty(await queue.ReceiveAsync(1, Long, Ct));
        var (again, _) = await ReceiveWithinAsync(queue, TimeSpan.FromSeconds(15), Long);

        var second = Assert.Single(again);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1), $"the message came back after {clock.Elapsed}, before its lease ran out");
        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(2, second.DequeueCount);
        Assert.NotEqual(first.PopReceipt, second.PopReceipt);
    }

    [Fact]
    public async Task Delete_WithStaleReceipt_IsRefused_AndTheCurrentHolderCanStillDelete()
    {
        var queue = await CreateQueueAsync();
        await queue.SendAsync("m", null, Ct);
        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1), Ct));
        var (again, _) = await ReceiveWithinAsync(queue, TimeSpan.FromSeconds(15), Long);
        var second = Assert.Single(again);

        var error = await Assert.ThrowsAsync<QueueLeaseLostException>(() => queue.DeleteAsync(first, Ct));

        Assert.Equal(first.MessageId, error.MessageId);
        await queue.DeleteAsync(second, Ct);
        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task UpdateVisibility_ExtendsTheLease_AndMakesTheOldReceiptStale()
    {
        var queue = await CreateQueueAsync();
        await queue.SendAsync("m", null, Ct);
        var received = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1), Ct));

        var extended = await queue.UpdateVisibilityAsync(received, Long, Ct);

        Assert.NotEqual(received.PopReceipt, extended.PopReceipt);
        Assert.True(extended.NextVisibleOn > DateTimeOffset.UtcNow.AddMinutes(4));
        // Past the original one-second lease it stays hidden.
        var (during, waited) = await ReceiveWithinAsync(queue, TimeSpan.FromSeconds(2.5), Long);
        Assert.Empty(during);
        Assert.True(waited > TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<QueueLeaseLostException>(() => queue.DeleteAsync(received, Ct));
        await queue.DeleteAsync(extended, Ct);
        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task UpdateVisibility_ToZero_ReleasesTheMessageAtOnce()
    {
        var queue = await CreateQueueAsync();
        await queue.SendAsync("m", null, Ct);
        var received = Assert.Single(await queue.ReceiveAsync(1, Long, Ct));

        await queue.UpdateVisibilityAsync(received, TimeSpan.Zero, Ct);

        var again = Assert.Single(await queue.ReceiveAsync(1, Long, Ct));
        Assert.Equal(received.MessageId, again.MessageId);
        Assert.Equal(2, again.DequeueCount);
    }

    [Fact]
    public async Task Receive_ReturnsAtMostTheRequestedCount_EvenAboveOneCallsLimit()
    {
        var queue = await CreateQueueAsync();
        for (var i = 0; i < 45; i++)
        {
            await queue.SendAsync($"m{i}", null, Ct);
        }

        var three = await queue.ReceiveAsync(3, Long, Ct);
        var rest = await queue.ReceiveAsync(100, Long, Ct);

        Assert.Equal(3, three.Count);
        Assert.Equal(42, rest.Count);
        Assert.Equal(45, three.Concat(rest).Select(m => m.Body).Distinct().Count());
        Assert.Empty(await queue.ReceiveAsync(10, Long, Ct));
    }

    [Fact]
    public async Task ConcurrentConsumers_NeverHoldTheSameMessage()
    {
        var queue = await CreateQueueAsync();
        const int count = 120;
        for (var i = 0; i < count; i++)
        {
            await queue.SendAsync($"m{i}", null, Ct);
        }

        var taken = new System.Collections.Concurrent.ConcurrentBag<QueueMessage>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 4), Ct, async (_, token) =>
        {
            while (true)
            {
                var batch = await queue.ReceiveAsync(7, Long, token);
                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var message in batch)
                {
                    taken.Add(message);
                }
            }
        });

        Assert.Equal(count, taken.Count);
        Assert.Equal(count, taken.Select(m => m.MessageId).Distinct().Count());
        Assert.All(taken, m => Assert.Equal(1, m.DequeueCount));
        foreach (var message in taken)
        {
            await queue.DeleteAsync(message, Ct);
        }

        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
    }

    [Fact]
    public async Task MessageReceivedPastMaxDequeueCount_MovesToPoisonQueue_WithItsBody()
    {
        var factory = await CreateFactoryAsync(maxDequeueCount: 2);
        var queue = factory.GetQueue("q" + Guid.NewGuid().ToString("N")[..20]);
        await queue.CreateIfNotExistsAsync(Ct);
        await queue.SendAsync("""{"v":1}""", null, Ct);

        // Two workers take it and die without deleting it (their leases are given back at once).
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var taken = Assert.Single(await queue.ReceiveAsync(1, Long, Ct));
            Assert.Equal(attempt, taken.DequeueCount);
            await queue.UpdateVisibilityAsync(taken, TimeSpan.Zero, Ct);
        }

        Assert.Empty(await queue.ReceiveAsync(1, Long, Ct));

        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
        var poisonQueue = factory.GetQueue(queue.PoisonQueueName);
        var poison = PoisonMessage.Parse(Assert.Single(await poisonQueue.ReceiveAsync(5, Long, Ct)).Body);
        Assert.Equal("""{"v":1}""", poison.Body);
        Assert.Equal(queue.Name, poison.Queue);
        Assert.Equal(3, poison.DequeueCount);
        Assert.Contains("maximum of 2", poison.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeadLetter_MovesTheMessageWithItsError_AndStaleReceiptsCannotDeadLetter()
    {
        var factory = await CreateFactoryAsync();
        var queue = factory.GetQueue("q" + Guid.NewGuid().ToString("N")[..20]);
        await queue.CreateIfNotExistsAsync(Ct);
        await queue.SendAsync("not json at all", null, Ct);
        var received = Assert.Single(await queue.ReceiveAsync(1, Long, Ct));
        var extended = await queue.UpdateVisibilityAsync(received, Long, Ct);

        await Assert.ThrowsAsync<QueueLeaseLostException>(() => queue.DeadLetterAsync(received, "stale", Ct));
        await queue.DeadLetterAsync(extended, "Malformed message: bad JSON", Ct);

        Assert.Equal(0, await queue.GetApproximateCountAsync(Ct));
        var poison = PoisonMessage.Parse(Assert.Single(await factory.GetQueue(queue.PoisonQueueName).ReceiveAsync(5, Long, Ct)).Body);
        Assert.Equal("not json at all", poison.Body);
        Assert.Equal("Malformed message: bad JSON", poison.Error);
        Assert.Equal(received.MessageId, poison.MessageId);
    }

    [Fact]
    public async Task Send_WithInitialDelay_KeepsTheMessageHiddenUntilThen()
    {
        var queue = await CreateQueueAsync();

        await queue.SendAsync("later", TimeSpan.FromSeconds(2), Ct);

        Assert.Empty(await queue.ReceiveAsync(1, Long, Ct));
        Assert.Equal(1, await queue.GetApproximateCountAsync(Ct));
        var (later, waited) = await ReceiveWithinAsync(queue, TimeSpan.FromSeconds(15), Long);
        Assert.Equal("later", Assert.Single(later).Body);
        Assert.True(waited >= TimeSpan.FromSeconds(0.9), $"visible after {waited}");
    }

    [Fact]
    public async Task Send_OverTheSizeLimit_IsRefused_AndJustUnderItIsAccepted()
    {
        var queue = await CreateQueueAsync();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync(new string('x', QueueLimits.MaxMessageBytes + 1), null, Ct));
        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
        var big = new string('y', 48 * 1024);
        await queue.SendAsync(big, null, Ct);

        Assert.Equal(big, Assert.Single(await queue.ReceiveAsync(1, Long, Ct)).Body);
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("a")]
    [InlineData("bad_name")]
    [InlineData("double--hyphen")]
    public async Task InvalidQueueNames_AreRefused(string name)
    {
        var factory = await CreateFactoryAsync();

        Assert.Throws<ArgumentException>(() => factory.GetQueue(name));
    }
}
