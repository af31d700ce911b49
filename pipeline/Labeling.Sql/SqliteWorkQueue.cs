using System.Data.Common;
using Dapper;
using Labeling.Blobs;
using Labeling.Queues;
using Microsoft.Extensions.Options;

namespace Labeling.Sql;

/// <summary>Queues of the embedded backend: rows of the <c>queue_messages</c> table in the SQLite labels database.</summary>
internal sealed class SqliteWorkQueueFactory(LabelsDatabase database, IOptions<WorkQueueOptions> options, TimeProvider time) : IWorkQueueFactory
{
    public IWorkQueue GetQueue(string name) => new SqliteWorkQueue(database.DataSource, name, options.Value, time);
}

/// <summary>
/// A durable queue in one SQL table with Azure Storage Queue semantics. A receive is one
/// write transaction that picks visible rows, pushes their visibility into the future and gives
/// each a fresh pop receipt; SQLite serialises write transactions, so two consumers can never
/// take the same row. Times are Unix milliseconds from <see cref="TimeProvider"/>.
/// </summary>
internal sealed class SqliteWorkQueue : IWorkQueue
{
    private readonly DbDataSource _dataSource;
    private readonly WorkQueueOptions _options;
    private readonly TimeProvider _time;

    public SqliteWorkQueue(DbDataSource dataSource, string name, WorkQueueOptions options, TimeProvider time)
    {
        ContainerName.Validate(name, "queue");
        ContainerName.Validate(name + "-poison", "poison queue");
        _dataSource = dataSource;
        _options = options;
        _time = time;
        Name = name;
        PoisonQueueName = name + "-poison";
    }

    public string Name { get; }

    public string PoisonQueueName { get; }

    // The table is created by the migrations; a queue is just a name in it.
    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<string> SendAsync(string body, TimeSpan? initialDelay, CancellationToken cancellationToken)
    {
        QueueLimits.ValidateBody(body);
        var delay = initialDelay ?? TimeSpan.Zero;
        QueueLimits.ValidateVisibility(delay);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await InsertAsync(connection, null, Name, body, delay, cancellationToken);
    }

    private async Task<string> InsertAsync(DbConnection connection, DbTransaction? transaction, string queue, string body, TimeSpan delay, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString();
        var now = Now();
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO queue_messages (queue, message_id, body, inserted_at, visible_at, dequeue_count)
            VALUES (@queue, @id, @body, @now, @visibleAt, 0)
            """,
            new { queue, id, body, now, visibleAt = now + (long)delay.TotalMilliseconds },
            transaction, cancellationToken: cancellationToken));
        return id;
    }

    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        QueueLimits.ValidateVisibility(visibilityTimeout);
        var now = Now();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<MessageRow>(new CommandDefinition(
            """
            UPDATE queue_messages
            SET visible_at = @until, dequeue_count = dequeue_count + 1, pop_receipt = lower(hex(randomblob(16)))
            WHERE id IN (SELECT id FROM queue_messages WHERE queue = @queue AND visible_at <= @now ORDER BY visible_at, id LIMIT @maxMessages)
            RETURNING id AS Id, message_id AS MessageId, pop_receipt AS PopReceipt, body AS Body,
                      dequeue_count AS DequeueCount, inserted_at AS InsertedAt, visible_at AS VisibleAt
            """,
            new { queue = Name, now, until = now + (long)visibilityTimeout.TotalMilliseconds, maxMessages },
            transaction, cancellationToken: cancellationToken))).OrderBy(r => r.Id).ToList();

        var result = new List<QueueMessage>(rows.Count);
        foreach (var row in rows)
        {
            var message = row.ToMessage();
            if (row.DequeueCount > _options.MaxDequeueCount)
            {
                // Received too often without completing (workers crashed or timed out): dead-letter it.
                await MoveToPoisonAsync(connection, transaction, message, PoisonMessage.TooManyDequeues(row.DequeueCount, _options.MaxDequeueCount), cancellationToken);
            }
            else
            {
                result.Add(message);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public async Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        QueueLimits.ValidateVisibility(visibilityTimeout);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            """
            UPDATE queue_messages
            SET visible_at = @until, pop_receipt = lower(hex(randomblob(16)))
            WHERE queue = @queue AND message_id = @MessageId AND pop_receipt = @PopReceipt
            RETURNING id AS Id, message_id AS MessageId, pop_receipt AS PopReceipt, body AS Body,
                      dequeue_count AS DequeueCount, inserted_at AS InsertedAt, visible_at AS VisibleAt
            """,
            new { queue = Name, message.MessageId, message.PopReceipt, until = Now() + (long)visibilityTimeout.TotalMilliseconds },
            cancellationToken: cancellationToken));
        return row?.ToMessage() ?? throw new QueueLeaseLostException(Name, message.MessageId);
    }

    public async Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await DeleteAsync(connection, null, message, cancellationToken);
    }

    private async Task DeleteAsync(DbConnection connection, DbTransaction? transaction, QueueMessage message, CancellationToken cancellationToken)
    {
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM queue_messages WHERE queue = @queue AND message_id = @MessageId AND pop_receipt = @PopReceipt",
            new { queue = Name, message.MessageId, message.PopReceipt }, transaction, cancellationToken: cancellationToken));
        if (deleted == 0)
        {
            throw new QueueLeaseLostException(Name, message.MessageId);
        }
    }

    public async Task DeadLetterAsync(QueueMessage message, string error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(error);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await MoveToPoisonAsync(connection, transaction, message, error, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    // Delete (checking the receipt) and insert the poison copy in one transaction: never lost, never doubled.
    private async Task MoveToPoisonAsync(DbConnection connection, DbTransaction transaction, QueueMessage message, string error, CancellationToken cancellationToken)
    {
        await DeleteAsync(connection, transaction, message, cancellationToken);
        var poison = new PoisonMessage(Name, message.MessageId, message.DequeueCount, error, _time.GetUtcNow(), message.Body);
        await InsertAsync(connection, transaction, PoisonQueueName, poison.ToJson(), TimeSpan.Zero, cancellationToken);
    }

    public async Task<int> GetApproximateCountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COUNT(*) FROM queue_messages WHERE queue = @queue", new { queue = Name }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, QueueLimits.MaxReceiveCount);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<MessageRow>(new CommandDefinition(
            """
            SELECT id AS Id, message_id AS MessageId, body AS Body, dequeue_count AS DequeueCount, inserted_at AS InsertedAt, visible_at AS VisibleAt
            FROM queue_messages WHERE queue = @queue AND visible_at <= @now ORDER BY visible_at, id LIMIT @maxMessages
            """,
            new { queue = Name, now = Now(), maxMessages }, cancellationToken: cancellationToken));
        return rows.Select(r => new PeekedMessage(r.MessageId, r.Body, r.DequeueCount, DateTimeOffset.FromUnixTimeMilliseconds(r.InsertedAt))).ToList();
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private sealed class MessageRow
    {
        public long Id { get; set; }
        public string MessageId { get; set; } = "";
        public string PopReceipt { get; set; } = "";
        public string Body { get; set; } = "";
        public long DequeueCount { get; set; }
        public long InsertedAt { get; set; }
        public long VisibleAt { get; set; }

        public QueueMessage ToMessage() => new(
            MessageId, PopReceipt, Body, DequeueCount,
            DateTimeOffset.FromUnixTimeMilliseconds(InsertedAt), DateTimeOffset.FromUnixTimeMilliseconds(VisibleAt));
    }
}
