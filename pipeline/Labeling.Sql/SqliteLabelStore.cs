using System.Data.Common;
using System.Globalization;
using Labeling.Labels;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Labeling.Sql;

/// <summary>SQLite dialect: boxes go in through one prepared statement driven directly through SQLite's C API.</summary>
internal sealed class SqliteLabelStore(LabelsDatabase database) : SqlLabelStore(database)
{
    internal const string NowExpression = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

    private const string InsertBox =
        "INSERT INTO boxes (image_id, class_id, model_id, x1, y1, x2, y2, score, source, labelled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

    protected override string NowSql => NowExpression;

    protected override string SecondsFromNowSql(string secondsParameter) =>
        $"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('%+.3f seconds', @{secondsParameter}))";

    protected override string InList(string column, string parameter) => $"{column} IN @{parameter}";

    protected override string JsonParameter(string parameter) => $"@{parameter}";

    // The claim's transaction begins IMMEDIATE: it holds the only write lock, so no row lock is needed.
    protected override string SkipLockedSql => "";

    protected override bool HoldsClaimDuringSend => false;

    // Microsoft.Data.Sqlite begins transactions IMMEDIATE: the write lock is held from the start, so no other writer runs.
    protected override Task LockImagesAsync(DbConnection connection, DbTransaction transaction, IEnumerable<long> imageIds, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    protected override Task LockModelsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    protected override Task InsertBoxesAsync(
        DbConnection connection, DbTransaction transaction, long? modelId, IEnumerable<(long ImageId, BoxData Box)> boxes, CancellationToken cancellationToken)
    {
        // Hot path (hundreds of thousands of rows a second). ADO.NET's per-execute overhead
        // (a reader, boxed parameter values, re-binding every parameter) costs more than SQLite's
        // own insert, so the statement is prepared once on the connection's handle, inside the
        // same transaction, and only the values are bound per row.
        var db = ((SqliteConnection)connection).Handle ?? throw new InvalidOperationException("The SQLite connection is not open.");
        Check(db, raw.sqlite3_prepare_v2(db, InsertBox, out var statement));
        using (statement)
        {
            var at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            foreach (var (imageId, box) in boxes)
            {
                cancellationToken.ThrowIfCancellationRequested();
                raw.sqlite3_bind_int64(statement, 1, imageId);
                raw.sqlite3_bind_int64(statement, 2, box.ClassId);
                if (modelId is { } m)
                {
                    raw.sqlite3_bind_int64(statement, 3, m);
                }
                else
                {
                    raw.sqlite3_bind_null(statement, 3);
                }

                raw.sqlite3_bind_double(statement, 4, box.X1);
                raw.sqlite3_bind_double(statement, 5, box.Y1);
                raw.sqlite3_bind_double(statement, 6, box.X2);
                raw.sqlite3_bind_double(statement, 7, box.Y2);
                if (box.Score is { } s)
                {
                    raw.sqlite3_bind_double(statement, 8, s);
                }
                else
                {
                    raw.sqlite3_bind_null(statement, 8);
                }

                raw.sqlite3_bind_text(statement, 9, ToDb(box.Source));
                raw.sqlite3_bind_text(statement, 10, at);
                var rc = raw.sqlite3_step(statement);
                if (rc != raw.SQLITE_DONE)
                {
                    Check(db, rc);
                }

                raw.sqlite3_reset(statement);
            }
        }

        return Task.CompletedTask;
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException($"SQLite error {rc}: {raw.sqlite3_errmsg(db).utf8_to_string()}", rc);
        }
    }
}
