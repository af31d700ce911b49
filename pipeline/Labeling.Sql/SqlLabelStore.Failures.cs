using Dapper;
using Labeling.Labels;
using Labeling.Schema;

namespace Labeling.Sql;

// The failures a user sees and retries (docs/failures.md): failed images grouped by reason, and their reset to pending.
internal abstract partial class SqlLabelStore
{
    public async Task<IReadOnlyList<FailureGroup>> GetFailureGroupsAsync(string? dataset, string? reason, int examplesPerGroup, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(examplesPerGroup, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(examplesPerGroup, 100);
        var reasonSql = ReasonSql("i.last_error");
        var where = FailedWhere(dataset, reason, reasonSql);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var groups = (await connection.QueryAsync<(string Dataset, string Reason, long Count)>(new CommandDefinition(
            $"""
            SELECT d.name, {reasonSql}, COUNT(*)
            FROM images i JOIN datasets d ON d.id = i.dataset_id
            {where}
            GROUP BY d.name, {reasonSql}
            ORDER BY 1, 3 DESC, 2
            """,
            new { dataset, reason }, cancellationToken: cancellationToken))).AsList();

        var examples = new Dictionary<(string, string), List<FailedImage>>();
        if (examplesPerGroup > 0 && groups.Count > 0)
        {
            var rows = await connection.QueryAsync<FailedRow>(new CommandDefinition(
                $"""
                SELECT id AS Id, dataset AS Dataset, blob_path AS BlobPath, reason AS Reason, last_error AS LastError, attempts AS Attempts
                FROM (
                    SELECT i.id, d.name AS dataset, i.blob_path, {reasonSql} AS reason, i.last_error, i.attempts,
                           ROW_NUMBER() OVER (PARTITION BY d.name, {reasonSql} ORDER BY i.id) AS rn
                    FROM images i JOIN datasets d ON d.id = i.dataset_id
                    {where}
                ) x
                WHERE rn <= @examplesPerGroup
                ORDER BY id
                """,
                new { dataset, reason, examplesPerGroup }, cancellationToken: cancellationToken));
            foreach (var row in rows)
            {
                var key = (row.Dataset, row.Reason);
                if (!examples.TryGetValue(key, out var list))
                {
                    examples[key] = list = [];
                }

                list.Add(row.ToImage());
            }
        }

        return groups.Select(g => new FailureGroup(g.Dataset, g.Reason, g.Count, examples.GetValueOrDefault((g.Dataset, g.Reason)) ?? [])).ToList();
    }

    public async Task<IReadOnlyList<FailedImage>> GetFailedImagesAsync(string? dataset, string? reason, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 10_000);
        var reasonSql = ReasonSql("i.last_error");
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<FailedRow>(new CommandDefinition(
            $"""
            SELECT i.id AS Id, d.name AS Dataset, i.blob_path AS BlobPath, {reasonSql} AS Reason, i.last_error AS LastError, i.attempts AS Attempts
            FROM images i JOIN datasets d ON d.id = i.dataset_id
            {FailedWhere(dataset, reason, reasonSql)} AND i.id > @afterId
            ORDER BY i.id
            LIMIT @limit
            """,
            new { dataset, reason, afterId, limit }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToImage()).ToList();
    }

    public async Task<int> ResetFailedAsync(string? dataset, string? reason, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE images
            SET status = 'pending', last_error = NULL, updated_at = {NowSql}
            WHERE status = 'failed'
            {(dataset is null ? "" : "AND dataset_id IN (SELECT id FROM datasets WHERE name = @dataset)")}
            {(reason is null ? "" : $"AND {ReasonSql("last_error")} = @reason")}
            """,
            new { dataset, reason }, cancellationToken: cancellationToken));
    }

    private static string FailedWhere(string? dataset, string? reason, string reasonSql) =>
        $"WHERE i.status = 'failed'{(dataset is null ? "" : " AND d.name = @dataset")}{(reason is null ? "" : $" AND {reasonSql} = @reason")}";

    /// <summary><see cref="FailureReason.Of"/> in SQL: the text before the first ": ", or all of it; 'unknown' when empty.</summary>
    private string ReasonSql(string column) => Database.Provider == DatabaseProvider.Postgres
        ? $"COALESCE(NULLIF(split_part({column}, ': ', 1), ''), '{FailureReason.Unknown}')"
        : $"COALESCE(NULLIF(CASE WHEN instr({column}, ': ') > 0 THEN substr({column}, 1, instr({column}, ': ') - 1) ELSE {column} END, ''), '{FailureReason.Unknown}')";

    private sealed class FailedRow
    {
        public long Id { get; set; }
        public string Dataset { get; set; } = "";
        public string BlobPath { get; set; } = "";
        public string Reason { get; set; } = "";
        public string? LastError { get; set; }
        public long Attempts { get; set; }

        public FailedImage ToImage() => new(Id, Dataset, BlobPath, Reason, LastError, (int)Attempts);
    }
}
