using System.Data.Common;
using Dapper;
using Labeling.Labels;
using Npgsql;
using NpgsqlTypes;

namespace Labeling.Sql;

/// <summary>PostgreSQL dialect: boxes go in through binary COPY (an order of magnitude faster than multi-row INSERT).</summary>
internal sealed class PostgresLabelStore(LabelsDatabase database) : SqlLabelStore(database)
{
    protected override string NowSql => "now()";

    protected override string SecondsFromNowSql(string secondsParameter) => $"now() + make_interval(secs => @{secondsParameter})";

    protected override string InList(string column, string parameter) => $"{column} = ANY(@{parameter})";

    protected override string JsonParameter(string parameter) => $"CAST(@{parameter} AS jsonb)";

    protected override string SkipLockedSql => "FOR UPDATE SKIP LOCKED";

    protected override bool HoldsClaimDuringSend => true;

    protected override async Task LockImagesAsync(DbConnection connection, DbTransaction transaction, IEnumerable<long> imageIds, CancellationToken cancellationToken)
    {
        // READ COMMITTED alone lets two replaces of the same (image, model) both delete the old boxes and both insert.
        foreach (var chunk in imageIds.Distinct().Order().Chunk(500))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT id FROM images WHERE id = ANY(@ids) ORDER BY id FOR UPDATE",
                new { ids = chunk }, transaction, cancellationToken: cancellationToken));
        }
    }

    // SHARE ROW EXCLUSIVE conflicts with itself and with writes, not with reads: workers keep reading the active model.
    protected override Task LockModelsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("LOCK TABLE models IN SHARE ROW EXCLUSIVE MODE", transaction: transaction, cancellationToken: cancellationToken));

    protected override async Task InsertBoxesAsync(
        DbConnection connection, DbTransaction transaction, long? modelId, IEnumerable<(long ImageId, BoxData Box)> boxes, CancellationToken cancellationToken)
    {
        var npgsql = (NpgsqlConnection)connection;
        var now = DateTime.UtcNow;
        // COPY joins the connection's open transaction, so the replace stays atomic.
        await using var importer = await npgsql.BeginBinaryImportAsync(
            "COPY boxes (image_id, class_id, model_id, x1, y1, x2, y2, score, source, labelled_at) FROM STDIN (FORMAT BINARY)",
            cancellationToken);
        foreach (var (imageId, box) in boxes)
        {
            // The synchronous writers only buffer; they touch the socket when the buffer fills.
            importer.StartRow();
            importer.Write(imageId, NpgsqlDbType.Bigint);
            importer.Write(box.ClassId, NpgsqlDbType.Bigint);
            if (modelId is { } m)
            {
                importer.Write(m, NpgsqlDbType.Bigint);
            }
            else
            {
                importer.WriteNull();
            }

            importer.Write(box.X1, NpgsqlDbType.Real);
            importer.Write(box.Y1, NpgsqlDbType.Real);
            importer.Write(box.X2, NpgsqlDbType.Real);
            importer.Write(box.Y2, NpgsqlDbType.Real);
            if (box.Score is { } s)
            {
                importer.Write(s, NpgsqlDbType.Real);
            }
            else
            {
                importer.WriteNull();
            }

            importer.Write(ToDb(box.Source), NpgsqlDbType.Text);
            importer.Write(now, NpgsqlDbType.TimestampTz);
        }

        await importer.CompleteAsync(cancellationToken);
    }
}
