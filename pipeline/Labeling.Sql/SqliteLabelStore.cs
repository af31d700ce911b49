using System.Data.Common;
using System.Globalization;
using Labeling.Labels;
using Microsoft.Data.Sqlite;

namespace Labeling.Sql;

/// <summary>SQLite dialect: boxes go in through one prepared INSERT reused for every row (no parsing per row).</summary>
internal sealed class SqliteLabelStore(LabelsDatabase database) : SqlLabelStore(database)
{
    internal const string NowExpression = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

    protected override string NowSql => NowExpression;

    protected override string InList(string column, string parameter) => $"{column} IN @{parameter}";

    protected override Task InsertBoxesAsync(
        DbConnection connection, DbTransaction transaction, long? modelId, IEnumerable<(long ImageId, BoxData Box)> boxes, CancellationToken cancellationToken)
    {
        // Hot path (hundreds of thousands of rows a second): plain ADO.NET, not Dapper, so the
        // statement is prepared once and only parameter values change per row.
        using var command = (SqliteCommand)connection.CreateCommand();
        command.Transaction = (SqliteTransaction)transaction;
        command.CommandText =
            "INSERT INTO boxes (image_id, class_id, model_id, x1, y1, x2, y2, score, source, labelled_at) " +
            "VALUES ($image, $class, $model, $x1, $y1, $x2, $y2, $score, $source, $at)";
        var image = command.Parameters.Add("$image", SqliteType.Integer);
        var @class = command.Parameters.Add("$class", SqliteType.Integer);
        var model = command.Parameters.Add("$model", SqliteType.Integer);
        var x1 = command.Parameters.Add("$x1", SqliteType.Real);
        var y1 = command.Parameters.Add("$y1", SqliteType.Real);
        var x2 = command.Parameters.Add("$x2", SqliteType.Real);
        var y2 = command.Parameters.Add("$y2", SqliteType.Real);
        var score = command.Parameters.Add("$score", SqliteType.Real);
        var source = command.Parameters.Add("$source", SqliteType.Text);
        var at = command.Parameters.Add("$at", SqliteType.Text);
        model.Value = modelId is { } m ? m : DBNull.Value;
        at.Value = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        command.Prepare();
        foreach (var (imageId, box) in boxes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            image.Value = imageId;
            @class.Value = box.ClassId;
            x1.Value = (double)box.X1;
            y1.Value = (double)box.Y1;
            x2.Value = (double)box.X2;
            y2.Value = (double)box.Y2;
            score.Value = box.Score is { } s ? (double)s : DBNull.Value;
            source.Value = ToDb(box.Source);
            command.ExecuteNonQuery();
        }

        return Task.CompletedTask;
    }
}
