using System.Data.Common;
using Dapper;
using Labeling.Labels;

namespace Labeling.Sql;

/// <summary>Job control per dataset (<see cref="ILabelStore"/>'s dataset-control members), shared by both dialects.</summary>
internal abstract partial class SqlLabelStore
{
    private const string ControlColumns = """
        SELECT id AS Id, name AS Name, state AS State, priority AS Priority, max_concurrent_batches AS MaxConcurrentBatches, generation AS Generation
        FROM datasets
        """;

    /// <summary>The SQL expression for now plus <paramref name="secondsParameter"/> (a number of seconds, may be negative), comparable with this dialect's timestamps.</summary>
    protected abstract string SecondsFromNowSql(string secondsParameter);

    public async Task<IReadOnlyList<DatasetControlRecord>> ListDatasetControlsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ControlRow>(new CommandDefinition($"{ControlColumns} ORDER BY name", cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToRecord())];
    }

    public Task<DatasetControlRecord?> GetDatasetControlAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return SingleControlAsync(null, null, "WHERE name = @name", new { name }, cancellationToken);
    }

    public Task<DatasetControlRecord?> GetDatasetControlAsync(long datasetId, CancellationToken cancellationToken) =>
        SingleControlAsync(null, null, "WHERE id = @datasetId", new { datasetId }, cancellationToken);

    public async Task<DatasetControlRecord?> SetDatasetStateAsync(string name, DatasetState state, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE datasets SET state = @state WHERE name = @name", new { name, state = state.ToText() }, cancellationToken: cancellationToken));
        return await SingleControlAsync(connection, null, "WHERE name = @name", new { name }, cancellationToken);
    }

    public async Task<DatasetControlRecord?> SetDatasetBatchCapAsync(string name, int? maxConcurrentBatches, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (maxConcurrentBatches is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxConcurrentBatches), maxConcurrentBatches, "A batch cap is a positive number (or null: no cap).");
        }

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE datasets SET max_concurrent_batches = @maxConcurrentBatches WHERE name = @name", new { name, maxConcurrentBatches }, cancellationToken: cancellationToken));
        return await SingleControlAsync(connection, null, "WHERE name = @name", new { name }, cancellationToken);
    }

    public async Task<DatasetWithdrawal?> WithdrawQueuedAsync(string name, DatasetState? state, DatasetPriority? priority, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The dataset row first: it is the lock that MarkQueuedAsync takes too, so an enqueue of the old generation
        // either commits before this (its images are queued, and go back below) or sees the new generation.
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE datasets SET generation = generation + 1, state = COALESCE(@state, state), priority = COALESCE(@priority, priority)
            WHERE name = @name
            """,
            new { name, state = state?.ToText(), priority = priority?.ToText() }, transaction, cancellationToken: cancellationToken));
        if (changed == 0)
        {
            return null;
        }

        var returned = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE images SET status = 'pending', updated_at = {NowSql}
            WHERE status = 'queued' AND dataset_id = (SELECT id FROM datasets WHERE name = @name)
            """,
            new { name }, transaction, cancellationToken: cancellationToken));
        var record = await SingleControlAsync(connection, transaction, "WHERE name = @name", new { name }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new DatasetWithdrawal(record!, returned);
    }

    public async Task<int> MarkQueuedAsync(long datasetId, long generation, IReadOnlyList<long> imageIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Locks the dataset row (see WithdrawQueuedAsync) and checks the generation in one statement.
        var current = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE datasets SET generation = generation WHERE id = @datasetId AND generation = @generation",
            new { datasetId, generation }, transaction, cancellationToken: cancellationToken));
        if (current == 0)
        {
            return 0;
        }

        var marked = 0;
        foreach (var chunk in imageIds.Distinct().Chunk(InListChunk))
        {
            marked += await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE images SET status = 'queued', last_error = NULL, attempts = attempts + 1, updated_at = {NowSql}
                WHERE dataset_id = @datasetId AND status = 'pending' AND {InList("id", "ids")}
                """,
                new { datasetId, ids = chunk }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return marked;
    }

    /// <summary>
    /// Row locks of the claim's subquery: PostgreSQL's <c>FOR UPDATE SKIP LOCKED</c> (a row another claim or writer holds
    /// is left to it); empty where a transaction already excludes every other writer.
    /// </summary>
    protected abstract string SkipLockedSql { get; }

    /// <summary>
    /// Whether a claim stays open (uncommitted) while its ids are sent, so that a process that dies mid-send leaves the
    /// images pending. Not on SQLite: the embedded queue is a table of the same file, and its send could not write while
    /// the claim holds the write lock; there the claim commits first and is undone if the send throws.
    /// </summary>
    protected abstract bool HoldsClaimDuringSend { get; }

    public async Task<IReadOnlyList<long>> ClaimPendingAsync(
        long datasetId, long generation, long afterId, int limit, bool weakTagsOnly,
        Func<IReadOnlyList<long>, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        List<long> ids;
        await using (var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // Locks the dataset row (see WithdrawQueuedAsync) and checks the generation in one statement.
            var current = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE datasets SET generation = generation WHERE id = @datasetId AND generation = @generation",
                new { datasetId, generation }, transaction, cancellationToken: cancellationToken));
            if (current == 0)
            {
                return [];
            }

            // Read and mark in one statement: two enqueuers can no longer both read an id as pending and both send it.
            // The pick is a MATERIALIZED CTE, evaluated once: as `id IN (SELECT … LIMIT n FOR UPDATE)` PostgreSQL may
            // rescan the subquery per row, and a rescan skips the rows this statement has just updated, so it claimed
            // past the limit.
            ids = [.. (await connection.QueryAsync<long>(new CommandDefinition(
                $"""
                WITH pick AS MATERIALIZED (
                    SELECT i.id FROM images i
                    WHERE i.dataset_id = @datasetId AND i.status = 'pending' AND i.id > @afterId
                      {(weakTagsOnly ? "AND EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.state = 'weak')" : "")}
                    ORDER BY i.id
                    LIMIT @limit
                    {SkipLockedSql})
                UPDATE images SET status = 'queued', last_error = NULL, attempts = attempts + 1, updated_at = {NowSql}
                WHERE status = 'pending' AND id IN (SELECT id FROM pick)
                RETURNING id
                """,
                new { datasetId, afterId, limit }, transaction, cancellationToken: cancellationToken))).Order()];
            if (ids.Count == 0)
            {
                return [];
            }

            if (HoldsClaimDuringSend)
            {
                // A send that throws (or a process that dies) rolls the claim back: the images are pending again.
                await send(ids, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return ids;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        try
        {
            await send(ids, cancellationToken);
        }
        catch
        {
            // Not with the caller's token: a cancelled send must still give its images back.
            await ReleaseClaimAsync(ids, CancellationToken.None);
            throw;
        }

        return ids;
    }

    private async Task ReleaseClaimAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE images SET status = 'pending', attempts = attempts - 1, updated_at = {NowSql} WHERE status = 'queued' AND {InList("id", "ids")}",
            new { ids }, cancellationToken: cancellationToken));
    }

    public async Task<bool> TryTakeBatchLeaseAsync(Guid batch, long datasetId, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two workers taking the last free place at once: the row lock on the dataset makes the second one wait and then
        // count the first one's lease (each statement reads what committed before it started).
        var exists = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE datasets SET max_concurrent_batches = max_concurrent_batches WHERE id = @datasetId",
            new { datasetId }, transaction, cancellationToken: cancellationToken));
        if (exists == 0)
        {
            return false;
        }

        var taken = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO batch_leases (batch, dataset_id, holder, expires_at)
            SELECT @batch, d.id, @holder, {SecondsFromNowSql("seconds")}
            FROM datasets d
            WHERE d.id = @datasetId
              AND (d.max_concurrent_batches IS NULL
                   OR (SELECT count(*) FROM batch_leases l
                       WHERE l.dataset_id = d.id AND l.batch <> @batch AND l.expires_at > {NowSql}) < d.max_concurrent_batches)
            ON CONFLICT (batch) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, dataset_id = excluded.dataset_id
            """,
            new { batch = batch.ToString(), datasetId, holder, seconds = duration.TotalSeconds }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return taken > 0;
    }

    public async Task<bool> RenewBatchLeaseAsync(Guid batch, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE batch_leases SET expires_at = {SecondsFromNowSql("seconds")} WHERE batch = @batch AND holder = @holder",
            new { batch = batch.ToString(), holder, seconds = duration.TotalSeconds }, cancellationToken: cancellationToken)) > 0;
    }

    public async Task ReleaseBatchLeaseAsync(Guid batch, string holder, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM batch_leases WHERE batch = @batch AND holder = @holder",
            new { batch = batch.ToString(), holder }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<DatasetActivity>> GetDatasetActivityAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ActivityRow>(new CommandDefinition(
            $"""
            SELECT d.id AS Id, d.name AS Name, d.state AS State, d.priority AS Priority, d.max_concurrent_batches AS MaxConcurrentBatches,
                   d.generation AS Generation, p.images AS Images, p.pending AS Pending, p.queued AS Queued, p.labelled AS Labelled,
                   p.failed AS Failed, p.boxes AS Boxes,
                   (SELECT count(*) FROM batch_leases l WHERE l.dataset_id = d.id AND l.expires_at > {NowSql}) AS Running,
                   (SELECT count(*) FROM images i
                    WHERE i.dataset_id = d.id AND i.status = 'labelled' AND i.labelled_at >= {SecondsFromNowSql("since")}) AS Recent
            FROM datasets d
            JOIN dataset_progress p ON p.dataset = d.name
            ORDER BY d.name
            """,
            new { since = -window.TotalSeconds }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new DatasetActivity(
            r.ToRecord(), new DatasetProgress(r.Name, r.Images, r.Pending, r.Queued, r.Labelled, r.Failed, r.Boxes), (int)r.Running, r.Recent, window))];
    }

    private async Task<DatasetControlRecord?> SingleControlAsync(
        DbConnection? connection, DbTransaction? transaction, string where, object parameters, CancellationToken cancellationToken)
    {
        if (connection is null)
        {
            await using var own = await Database.DataSource.OpenConnectionAsync(cancellationToken);
            return await SingleControlAsync(own, null, where, parameters, cancellationToken);
        }

        var row = await connection.QuerySingleOrDefaultAsync<ControlRow>(new CommandDefinition(
            $"{ControlColumns} {where}", parameters, transaction, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    private static DatasetState ParseState(string state) => state == "paused" ? DatasetState.Paused : DatasetState.Active;

    private static DatasetPriority ParsePriority(string priority) =>
        DatasetControlText.TryParsePriority(priority, out var parsed) ? parsed : throw new InvalidDataException($"Unknown dataset priority '{priority}'.");

    private class ControlRow
    {
        public long Id { get; set; }
        public string Name { get; set; } = "";
        public string State { get; set; } = "active";
        public string Priority { get; set; } = "normal";
        public int? MaxConcurrentBatches { get; set; }
        public long Generation { get; set; }

        public DatasetControlRecord ToRecord() => new(Id, Name, ParseState(State), ParsePriority(Priority), MaxConcurrentBatches, Generation);
    }

    private sealed class ActivityRow : ControlRow
    {
        public long Images { get; set; }
        public long Pending { get; set; }
        public long Queued { get; set; }
        public long Labelled { get; set; }
        public long Failed { get; set; }
        public long Boxes { get; set; }
        public long Running { get; set; }
        public long Recent { get; set; }
    }
}
