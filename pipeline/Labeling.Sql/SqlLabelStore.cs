using System.Data.Common;
using System.Text;
using Dapper;
using Labeling.Labels;

namespace Labeling.Sql;

/// <summary>
/// <see cref="ILabelStore"/> in plain, parameterised SQL through Dapper, shared by both dialects.
/// The dialects differ only where speed needs it: how boxes are bulk-inserted and how "now" is spelt.
/// </summary>
internal abstract partial class SqlLabelStore(LabelsDatabase database) : ILabelStore
{
    // Both dialects accept far more parameters, but a few hundred per IN list keeps plans cheap.
    private const int InListChunk = 500;
    private const int MaxErrorLength = 16 * 1024;

    protected LabelsDatabase Database { get; } = database;

    /// <summary>The SQL expression for the current UTC time in this dialect's timestamp format.</summary>
    protected abstract string NowSql { get; }

    /// <summary>
    /// "column is one of the list parameter": Dapper expands <c>IN @list</c> for SQLite, but hands
    /// Npgsql the array itself, which PostgreSQL spells <c>= ANY(@list)</c>.
    /// </summary>
    protected abstract string InList(string column, string parameter);

    /// <summary>A parameter holding JSON text, as the dialect stores it (jsonb on PostgreSQL, text on SQLite).</summary>
    protected abstract string JsonParameter(string parameter);

    /// <summary>
    /// Locks the rows of <paramref name="imageIds"/> until <paramref name="transaction"/> ends, before a replace of their boxes:
    /// a second writer of the same images waits, then deletes what the first inserted. Rows are locked in id order, so two
    /// writers of overlapping batches cannot deadlock. A no-op where the transaction already excludes every other writer.
    /// </summary>
    protected abstract Task LockImagesAsync(DbConnection connection, DbTransaction transaction, IEnumerable<long> imageIds, CancellationToken cancellationToken);

    /// <summary>
    /// Serialises changes of the active model until <paramref name="transaction"/> ends, so that an activation or rollback
    /// reads the state the one before it left (PostgreSQL's READ COMMITTED would let two read the same active model). Reads
    /// of the models table go on. A no-op where the transaction already excludes every other writer.
    /// </summary>
    protected abstract Task LockModelsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Inserts boxes inside <paramref name="transaction"/> as fast as the dialect allows.</summary>
    protected abstract Task InsertBoxesAsync(
        DbConnection connection, DbTransaction transaction, long? modelId, IEnumerable<(long ImageId, BoxData Box)> boxes, CancellationToken cancellationToken);

    public async Task<long> EnsureDatasetAsync(string name, CancellationToken cancellationToken)
    {
        ValidateDatasetName(name);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO datasets (name) VALUES (@name) ON CONFLICT (name) DO NOTHING",
            new { name }, cancellationToken: cancellationToken));
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT id FROM datasets WHERE name = @name", new { name }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyDictionary<string, long>> EnsureClassesAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        var normalised = names.Select(TagName.Normalise).Distinct(StringComparer.Ordinal).ToList();
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var ids = await EnsureClassesAsync(connection, transaction, normalised, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ids;
    }

    public async Task<IReadOnlyList<string>> ListClassNamesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        // Sorted here, not by the database: PostgreSQL's collation would order differently from SQLite's.
        var names = (await connection.QueryAsync<string>(new CommandDefinition("SELECT name FROM classes", cancellationToken: cancellationToken))).ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private async Task<Dictionary<string, long>> EnsureClassesAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<string> normalisedNames, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var chunk in normalisedNames.Chunk(InListChunk))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO classes (name) VALUES (@name) ON CONFLICT (name) DO NOTHING",
                chunk.Select(name => new { name }), transaction, cancellationToken: cancellationToken));
            var rows = await connection.QueryAsync<(long Id, string Name)>(new CommandDefinition(
                $"SELECT id, name FROM classes WHERE {InList("name", "names")}",
                new { names = chunk }, transaction, cancellationToken: cancellationToken));
            foreach (var (id, name) in rows)
            {
                ids[name] = id;
            }
        }

        return ids;
    }

    public async Task<IReadOnlyList<RegisteredImage>> RegisterImagesAsync(long datasetId, IReadOnlyList<NewImage> images, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        foreach (var image in images)
        {
            ValidateImage(image);
        }

        var results = new List<RegisteredImage>(images.Count);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var image in images)
        {
            // DO NOTHING on either unique key (blob path; dataset + content hash), then find out which.
            var id = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                INSERT INTO images (dataset_id, blob_path, content_hash, width, height, split, blob_etag, blob_size, status, last_error)
                VALUES (@datasetId, @BlobPath, @ContentHash, @Width, @Height, @Split, @ETag, @Size, @status, @FailReason)
                ON CONFLICT DO NOTHING
                RETURNING id
                """,
                new
                {
                    datasetId, image.BlobPath, image.ContentHash, image.Width, image.Height, image.Split, image.ETag, image.Size,
                    status = image.FailReason is null ? "pending" : "failed", FailReason = Truncate(image.FailReason),
                },
                transaction, cancellationToken: cancellationToken));
            if (id is { } created)
            {
                results.Add(new RegisteredImage(created, image.BlobPath, RegistrationOutcome.Created));
                continue;
            }

            var existing = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT id FROM images WHERE blob_path = @BlobPath",
                new { image.BlobPath }, transaction, cancellationToken: cancellationToken));
            if (existing is { } known)
            {
                results.Add(new RegisteredImage(known, image.BlobPath, RegistrationOutcome.AlreadyRegistered));
                continue;
            }

            var duplicate = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT id FROM images WHERE dataset_id = @datasetId AND content_hash = @ContentHash",
                new { datasetId, image.ContentHash }, transaction, cancellationToken: cancellationToken));
            results.Add(new RegisteredImage(duplicate, image.BlobPath, RegistrationOutcome.DuplicateContent));
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    public async Task AddTagsAsync(IReadOnlyList<ImageTag> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var normalised = tags.Select(t => (t.ImageId, Name: TagName.Normalise(t.Tag))).Distinct().ToList();
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var classes = await EnsureClassesAsync(connection, transaction, normalised.Select(t => t.Name).Distinct(StringComparer.Ordinal).ToList(), cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO image_tags (image_id, class_id) VALUES (@imageId, @classId) ON CONFLICT DO NOTHING",
            normalised.Select(t => new { imageId = t.ImageId, classId = classes[t.Name] }),
            transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ImageTagRecord>> GetTagsAsync(IReadOnlyList<long> imageIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        var result = new List<ImageTagRecord>();
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var chunk in imageIds.Distinct().Chunk(InListChunk))
        {
            var rows = await connection.QueryAsync<TagRow>(new CommandDefinition(
                $"""
                SELECT t.image_id AS ImageId, t.class_id AS ClassId, c.name AS ClassName, t.state AS State
                FROM image_tags t JOIN classes c ON c.id = t.class_id
                WHERE {InList("t.image_id", "ids")}
                ORDER BY t.image_id, c.name
                """,
                new { ids = chunk }, cancellationToken: cancellationToken));
            result.AddRange(rows.Select(r => new ImageTagRecord(r.ImageId, r.ClassId, r.ClassName, r.State switch
            {
                null => TagState.Unlabelled,
                "grounded" => TagState.Grounded,
                _ => TagState.Weak,
            })));
        }

        return result;
    }

    public async Task ReplaceHumanBoxesAsync(IReadOnlyList<ImageBoxes> images, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        foreach (var image in images)
        {
            foreach (var box in image.Boxes)
            {
                ValidateBox(box, human: true);
            }
        }

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockImagesAsync(connection, transaction, images.Select(i => i.ImageId), cancellationToken);
        foreach (var chunk in images.Select(i => i.ImageId).Distinct().Chunk(InListChunk))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"DELETE FROM boxes WHERE model_id IS NULL AND {InList("image_id", "ids")}",
                new { ids = chunk }, transaction, cancellationToken: cancellationToken));
        }

        await EnsureReferencesExistAsync(connection, transaction, images.Select(i => i.ImageId), images.SelectMany(i => i.Boxes.Select(b => b.ClassId)), null, cancellationToken);
        await InsertBoxesAsync(connection, transaction, null, images.SelectMany(i => i.Boxes.Select(b => (i.ImageId, b))), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task WriteLabelsAsync(long modelId, IReadOnlyList<ImageLabels> labels, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(labels);
        foreach (var image in labels)
        {
            foreach (var box in image.Boxes)
            {
                ValidateBox(box, human: false);
            }

            foreach (var tag in image.Tags)
            {
                if (tag.State == TagState.Unlabelled)
                {
                    throw new ArgumentException($"Image {image.ImageId}: a labelled tag is grounded or weak, not unlabelled.", nameof(labels));
                }
            }
        }

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two workers holding the same image (in two live messages) must not both delete-then-insert its boxes.
        await LockImagesAsync(connection, transaction, labels.Select(l => l.ImageId), cancellationToken);
        await EnsureReferencesExistAsync(connection, transaction, labels.Select(l => l.ImageId), labels.SelectMany(l => l.Boxes.Select(b => b.ClassId)), modelId, cancellationToken);
        foreach (var chunk in labels.Select(l => l.ImageId).Distinct().Chunk(InListChunk))
        {
            // Replace, never append: a redelivered message rewrites the same (image, model) boxes.
            await connection.ExecuteAsync(new CommandDefinition(
                $"DELETE FROM boxes WHERE model_id = @modelId AND {InList("image_id", "ids")}",
                new { modelId, ids = chunk }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE images
                SET status = 'labelled', labelled_by_model_id = @modelId, labelled_at = {NowSql},
                    last_error = NULL, updated_at = {NowSql}
                WHERE {InList("id", "ids")}
                """,
                new { modelId, ids = chunk }, transaction, cancellationToken: cancellationToken));
        }

        var sizes = labels.Where(l => l.Width is > 0 && l.Height is > 0)
            .Select(l => new { id = l.ImageId, width = l.Width, height = l.Height }).ToList();
        if (sizes.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE images SET width = @width, height = @height WHERE id = @id AND (width IS NULL OR height IS NULL OR width <> @width OR height <> @height)",
                sizes, transaction, cancellationToken: cancellationToken));
        }

        await InsertBoxesAsync(connection, transaction, modelId, labels.SelectMany(l => l.Boxes.Select(b => (l.ImageId, b))), cancellationToken);
        var tagUpdates = labels.SelectMany(l => l.Tags.Select(t => new
        {
            imageId = l.ImageId,
            classId = t.ClassId,
            state = t.State == TagState.Grounded ? "grounded" : "weak",
            modelId,
        })).ToList();
        if (tagUpdates.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE image_tags SET state = @state, state_model_id = @modelId WHERE image_id = @imageId AND class_id = @classId",
                tagUpdates, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    // boxes has no per-row foreign keys (they cost more than the inserts): check a batch's references here, set-based.
    private async Task EnsureReferencesExistAsync(
        DbConnection connection, DbTransaction transaction, IEnumerable<long> imageIds, IEnumerable<long> classIds, long? modelId, CancellationToken cancellationToken)
    {
        await EnsureExistAsync(connection, transaction, "images", "image", imageIds, cancellationToken);
        await EnsureExistAsync(connection, transaction, "classes", "class", classIds, cancellationToken);
        if (modelId is { } model)
        {
            await EnsureExistAsync(connection, transaction, "models", "model", [model], cancellationToken);
        }
    }

    private async Task EnsureExistAsync(DbConnection connection, DbTransaction transaction, string table, string what, IEnumerable<long> ids, CancellationToken cancellationToken)
    {
        var missing = new List<long>();
        foreach (var chunk in ids.Distinct().Chunk(InListChunk))
        {
            var found = (await connection.QueryAsync<long>(new CommandDefinition(
                $"SELECT id FROM {table} WHERE {InList("id", "ids")}", new { ids = chunk }, transaction, cancellationToken: cancellationToken))).ToHashSet();
            missing.AddRange(chunk.Where(id => !found.Contains(id)));
        }

        if (missing.Count > 0)
        {
            throw new ArgumentException($"Unknown {what} id(s): {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? $" and {missing.Count - 10} more" : "")}. Nothing was written.");
        }
    }

    public async Task SetStatusAsync(IReadOnlyList<long> imageIds, ImageStatus status, string? reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        reason = Truncate(reason);

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var chunk in imageIds.Distinct().Chunk(InListChunk))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE images
                SET status = @status, last_error = @reason, attempts = attempts + @attempt, updated_at = {NowSql}
                WHERE {InList("id", "ids")}
                """,
                new { status = ToDb(status), reason, attempt = status == ImageStatus.Queued ? 1 : 0, ids = chunk },
                transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static string? Truncate(string? reason) => reason is { Length: > MaxErrorLength } ? reason[..MaxErrorLength] + "…" : reason;

    public async Task<IReadOnlyDictionary<string, long>> GetImageIdsByPathAsync(IReadOnlyList<string> blobPaths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobPaths);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var chunk in blobPaths.Distinct(StringComparer.Ordinal).Chunk(InListChunk))
        {
            var rows = await connection.QueryAsync<(long Id, string Path)>(new CommandDefinition(
                $"SELECT id, blob_path FROM images WHERE {InList("blob_path", "paths")}", new { paths = chunk }, cancellationToken: cancellationToken));
            foreach (var (id, path) in rows)
            {
                result[path] = id;
            }
        }

        return result;
    }

    public async Task<IReadOnlyList<ImageRecord>> GetImagesAsync(IReadOnlyList<long> imageIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        var result = new List<ImageRecord>(imageIds.Count);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var chunk in imageIds.Distinct().Chunk(InListChunk))
        {
            var rows = await connection.QueryAsync<ImageRow>(new CommandDefinition(
                $"""
                SELECT id AS Id, dataset_id AS DatasetId, blob_path AS BlobPath, content_hash AS ContentHash,
                       width AS Width, height AS Height, split AS Split, status AS Status, attempts AS Attempts,
                       last_error AS LastError, labelled_by_model_id AS LabelledByModelId
                FROM images WHERE {InList("id", "ids")} ORDER BY id
                """,
                new { ids = chunk }, cancellationToken: cancellationToken));
            result.AddRange(rows.Select(r => new ImageRecord(
                r.Id, r.DatasetId, r.BlobPath, r.ContentHash, r.Width, r.Height, r.Split,
                Enum.Parse<ImageStatus>(r.Status, ignoreCase: true), r.Attempts, r.LastError, r.LabelledByModelId)));
        }

        return result;
    }

    public async Task<BoxPage> QueryBoxesAsync(BoxQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, 10_000);

        var sql = new StringBuilder(BoxRowSelect);
        var parameters = new DynamicParameters();
        AppendBoxFilters(sql, parameters, query);
        sql.Append(" AND b.id > @after ORDER BY b.id LIMIT @limit");
        parameters.Add("after", query.AfterId);
        parameters.Add("limit", query.Limit + 1);

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<BoxRowData>(new CommandDefinition(sql.ToString(), parameters, cancellationToken: cancellationToken))).ToList();
        var more = rows.Count > query.Limit;
        if (more)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        var boxes = rows.Select(ToBoxRow).ToList();
        return new BoxPage(boxes, more ? boxes[^1].BoxId : null);
    }

    public async Task<ReviewPage> QueryReviewImagesAsync(BoxQuery filter, long afterImageId, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 500);

        // First the page of images that have a matching box, then their matching boxes: two
        // indexed queries whatever the number of boxes per image.
        var idsSql = new StringBuilder(
            """
            SELECT DISTINCT b.image_id
            FROM boxes b
            JOIN images i ON i.id = b.image_id
            JOIN datasets d ON d.id = i.dataset_id
            JOIN classes c ON c.id = b.class_id
            LEFT JOIN models m ON m.id = b.model_id
            WHERE 1 = 1
            """);
        var parameters = new DynamicParameters();
        AppendBoxFilters(idsSql, parameters, filter);
        idsSql.Append(" AND b.image_id > @afterImage ORDER BY b.image_id LIMIT @limit");
        parameters.Add("afterImage", afterImageId);
        parameters.Add("limit", limit + 1);

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var ids = (await connection.QueryAsync<long>(new CommandDefinition(idsSql.ToString(), parameters, cancellationToken: cancellationToken))).ToList();
        var more = ids.Count > limit;
        if (more)
        {
            ids.RemoveAt(ids.Count - 1);
        }

        if (ids.Count == 0)
        {
            return new ReviewPage([], null);
        }

        var boxesSql = new StringBuilder(BoxRowSelect);
        var boxParameters = new DynamicParameters();
        AppendBoxFilters(boxesSql, boxParameters, filter);
        boxesSql.Append($" AND {InList("b.image_id", "ids")} ORDER BY b.image_id, b.id");
        boxParameters.Add("ids", ids.ToArray());
        var boxes = (await connection.QueryAsync<BoxRowData>(new CommandDefinition(boxesSql.ToString(), boxParameters, cancellationToken: cancellationToken)))
            .Select(ToBoxRow)
            .ToLookup(b => b.ImageId);
        var images = (await GetImagesAsync(ids, cancellationToken)).ToDictionary(i => i.Id);
        var result = ids.Where(images.ContainsKey)
            .Select(id => new ReviewImage(images[id], boxes[id].FirstOrDefault()?.Dataset ?? "", boxes[id].ToList()))
            .ToList();
        return new ReviewPage(result, more ? ids[^1] : null);
    }

    public async Task<PoolPage> GetPoolImagesAsync(long afterImageId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var heads = (await connection.QueryAsync<PoolHeadRow>(new CommandDefinition(
            """
            SELECT i.id AS Id, d.name AS Dataset
            FROM images i
            JOIN datasets d ON d.id = i.dataset_id
            WHERE i.id > @afterImageId
              AND (EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id)
                   OR EXISTS (SELECT 1 FROM boxes b WHERE b.image_id = i.id))
            ORDER BY i.id
            LIMIT @limit
            """,
            new { afterImageId, limit = limit + 1 }, cancellationToken: cancellationToken))).ToList();
        var more = heads.Count > limit;
        if (more)
        {
            heads.RemoveAt(heads.Count - 1);
        }

        if (heads.Count == 0)
        {
            return new PoolPage([], null);
        }

        var ids = heads.Select(h => h.Id).ToArray();
        var boxes = (await connection.QueryAsync<PoolBoxRow>(new CommandDefinition(
            $"""
            SELECT b.id AS BoxId, b.image_id AS ImageId, b.class_id AS ClassId, c.name AS ClassName,
                   b.x1 AS X1, b.y1 AS Y1, b.x2 AS X2, b.y2 AS Y2, b.score AS Score, b.source AS Source, b.model_id AS ModelId
            FROM boxes b
            JOIN images i ON i.id = b.image_id
            JOIN classes c ON c.id = b.class_id
            WHERE {InList("b.image_id", "ids")}
              AND (b.model_id IS NULL OR b.model_id = i.labelled_by_model_id)
            ORDER BY b.image_id, b.id
            """,
            new { ids }, cancellationToken: cancellationToken)))
            .ToLookup(r => r.ImageId, r => new PoolBox(r.BoxId, r.ClassId, r.ClassName, r.X1, r.Y1, r.X2, r.Y2, r.Score, Enum.Parse<BoxSource>(r.Source, ignoreCase: true), r.ModelId));
        var tags = (await GetTagsAsync(ids, cancellationToken)).ToLookup(t => t.ImageId);
        var images = (await GetImagesAsync(ids, cancellationToken)).ToDictionary(i => i.Id);
        var result = heads.Where(h => images.ContainsKey(h.Id))
            .Select(h => new PoolImage(images[h.Id], h.Dataset, tags[h.Id].ToList(), boxes[h.Id].ToList()))
            .ToList();
        return new PoolPage(result, more ? ids[^1] : null);
    }

    public async Task<int> MarkStaleForRelabelAsync(long modelId, string? dataset, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE images
            SET status = 'pending', last_error = NULL, updated_at = {NowSql}
            WHERE status = 'labelled'
              AND (labelled_by_model_id IS NULL OR labelled_by_model_id <> @modelId)
              {(dataset is null ? string.Empty : "AND dataset_id IN (SELECT id FROM datasets WHERE name = @dataset)")}
            """,
            new { modelId, dataset }, cancellationToken: cancellationToken));
    }

    private const string BoxRowSelect =
        """
        SELECT b.id AS BoxId, b.image_id AS ImageId, d.name AS Dataset, i.blob_path AS ImagePath, c.name AS ClassName,
               b.x1 AS X1, b.y1 AS Y1, b.x2 AS X2, b.y2 AS Y2, b.score AS Score, b.source AS Source, m.version AS ModelVersion
        FROM boxes b
        JOIN images i ON i.id = b.image_id
        JOIN datasets d ON d.id = i.dataset_id
        JOIN classes c ON c.id = b.class_id
        LEFT JOIN models m ON m.id = b.model_id
        WHERE 1 = 1
        """;

    // Only the filters asked for become SQL, and every value is a parameter.
    private static void AppendBoxFilters(StringBuilder sql, DynamicParameters parameters, BoxQuery query)
    {
        if (query.ClassName is not null)
        {
            sql.Append(" AND c.name = @className");
            parameters.Add("className", TagName.Normalise(query.ClassName));
        }

        if (query.MinScore is { } minScore)
        {
            sql.Append(" AND b.score >= @minScore");
            parameters.Add("minScore", minScore);
        }

        if (query.Dataset is not null)
        {
            sql.Append(" AND d.name = @dataset");
            parameters.Add("dataset", query.Dataset);
        }

        if (query.Source is { } source)
        {
            sql.Append(" AND b.source = @source");
            parameters.Add("source", ToDb(source));
        }

        if (query.ModelVersion is not null)
        {
            sql.Append(" AND m.version = @modelVersion");
            parameters.Add("modelVersion", query.ModelVersion);
        }

        if (query.ImageId is { } imageId)
        {
            sql.Append(" AND b.image_id = @imageId");
            parameters.Add("imageId", imageId);
        }
    }

    private static BoxRow ToBoxRow(BoxRowData r) => new(
        r.BoxId, r.ImageId, r.Dataset, r.ImagePath, r.ClassName, r.X1, r.Y1, r.X2, r.Y2, r.Score,
        Enum.Parse<BoxSource>(r.Source, ignoreCase: true), r.ModelVersion);

    public async Task<IReadOnlyList<DatasetProgress>> GetProgressAsync(string? dataset, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ProgressRow>(new CommandDefinition(
            $"""
            SELECT dataset AS Dataset, images AS Images, pending AS Pending, queued AS Queued,
                   labelled AS Labelled, failed AS Failed, boxes AS Boxes
            FROM dataset_progress
            {(dataset is null ? string.Empty : "WHERE dataset = @dataset")}
            ORDER BY dataset
            """,
            new { dataset }, cancellationToken: cancellationToken));
        return rows.Select(r => new DatasetProgress(r.Dataset, r.Images, r.Pending, r.Queued, r.Labelled, r.Failed, r.Boxes)).ToList();
    }

    public async Task<long> RegisterModelAsync(NewModel model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(model.Version);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var id = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            """
            INSERT INTO models (version, contract, blob_uri, sha256, embedding_space, parent_id)
            VALUES (@Version, @Contract, @BlobUri, @Sha256, @EmbeddingSpace, @ParentId)
            ON CONFLICT (version) DO NOTHING
            RETURNING id
            """,
            model, cancellationToken: cancellationToken));
        return id ?? throw new InvalidOperationException($"Model version '{model.Version}' is registered already.");
    }

    /// <summary>The columns of a <see cref="ModelRow"/>, read from <c>models</c>.</summary>
    private const string ModelColumns = """
        SELECT id AS Id, version AS Version, contract AS Contract, blob_uri AS BlobUri, sha256 AS Sha256,
               embedding_space AS EmbeddingSpace, parent_id AS ParentId, status AS Status,
               CAST(metrics AS text) AS Metrics, status_reason AS StatusReason, training_run_id AS TrainingRunId
        FROM models
        """;

    public Task<ModelRecord?> GetModelAsync(string version, CancellationToken cancellationToken) =>
        SingleModelAsync("WHERE version = @version", new { version }, cancellationToken);

    public async Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ModelRow>(new CommandDefinition($"{ModelColumns} ORDER BY id", cancellationToken: cancellationToken));
        return [.. rows.Select(row => row.ToRecord())];
    }

    // Read by every label batch and progress poll: one query, not a lookup of the version and then of the model.
    public Task<ModelRecord?> GetActiveModelAsync(CancellationToken cancellationToken) =>
        SingleModelAsync("WHERE status = 'active'", null, cancellationToken);

    private async Task<ModelRecord?> SingleModelAsync(string where, object? parameters, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ModelRow>(new CommandDefinition($"{ModelColumns} {where}", parameters, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    public async Task<bool> ActivateModelAsync(string version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockModelsAsync(connection, transaction, cancellationToken);
        var status = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT status FROM models WHERE version = @version", new { version }, transaction, cancellationToken: cancellationToken))
            ?? throw new InvalidOperationException($"Model version '{version}' is not registered.");
        if (status == "active")
        {
            return false;
        }

        // The old one first: at most one model is active (a unique index).
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE models SET status = 'retired' WHERE status = 'active'", transaction: transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE models SET status = 'active', status_reason = NULL, activated_at = {NowSql} WHERE version = @version",
            new { version }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task SetModelMetricsAsync(string version, string metricsJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentNullException.ThrowIfNull(metricsJson);
        RequireJsonObject(metricsJson, "Model metrics");

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE models SET metrics = {JsonParameter("metrics")} WHERE version = @version",
            new { version, metrics = metricsJson }, cancellationToken: cancellationToken));
        if (updated == 0)
        {
            throw new InvalidOperationException($"Model version '{version}' is not registered.");
        }
    }

    public async Task RejectModelAsync(string version, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        // One statement: a model activated meanwhile is never rejected.
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE models SET status = 'rejected', status_reason = @reason WHERE version = @version AND status <> 'active'",
            new { version, reason }, cancellationToken: cancellationToken));
        if (updated == 0)
        {
            var model = await GetModelAsync(version, cancellationToken);
            throw new InvalidOperationException(model is null
                ? $"Model version '{version}' is not registered."
                : $"Model {version} is the active model: roll back (or activate another) before rejecting it.");
        }
    }

    public async Task<bool> RejectModelAsync(string version, string reason, ModelStatus expected, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        if (expected == ModelStatus.Active)
        {
            throw new ArgumentException("The active model cannot be rejected: roll back (or activate another) first.", nameof(expected));
        }

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        // The status test in the same statement: of a reject and a promotion at once, one wins whole.
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE models SET status = 'rejected', status_reason = @reason WHERE version = @version AND status = @expected",
            new { version, reason, expected = expected.ToString().ToLowerInvariant() }, cancellationToken: cancellationToken));
        if (updated == 0 && await GetModelAsync(version, cancellationToken) is null)
        {
            throw new InvalidOperationException($"Model version '{version}' is not registered.");
        }

        return updated == 1;
    }

    public async Task<string?> RollbackModelAsync(string version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockModelsAsync(connection, transaction, cancellationToken);
        var active = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM models WHERE version = @version AND status = 'active'", new { version }, transaction, cancellationToken: cancellationToken));
        if (active == 0)
        {
            return null;
        }

        var previous = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            """
            SELECT version FROM models
            WHERE status = 'retired' AND activated_at IS NOT NULL
            ORDER BY activated_at DESC, id DESC
            LIMIT 1
            """,
            transaction: transaction, cancellationToken: cancellationToken));
        if (previous is null)
        {
            return null;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE models SET status = 'rejected', status_reason = 'rolled back' WHERE version = @version AND status = 'active'",
            new { version }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE models SET status = 'active', status_reason = NULL, activated_at = {NowSql} WHERE version = @previous",
            new { previous }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return previous;
    }

    public Task<IReadOnlyList<long>> GetImageIdsByStatusAsync(ImageStatus status, string? dataset, long afterId, int limit, CancellationToken cancellationToken) =>
        ImageIdsAsync(status, dataset, afterId, limit, "", cancellationToken);

    public Task<IReadOnlyList<long>> GetImageIdsWithWeakTagsAsync(ImageStatus status, string? dataset, long afterId, int limit, CancellationToken cancellationToken) =>
        ImageIdsAsync(status, dataset, afterId, limit, "AND EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.state = 'weak')", cancellationToken);

    /// <summary>A page of image ids of a status (and dataset), in id order, with an extra condition on <c>i</c>.</summary>
    private async Task<IReadOnlyList<long>> ImageIdsAsync(ImageStatus status, string? dataset, long afterId, int limit, string condition, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var ids = await connection.QueryAsync<long>(new CommandDefinition(
            $"""
            SELECT i.id FROM images i
            {(dataset is null ? "" : "JOIN datasets d ON d.id = i.dataset_id AND d.name = @dataset")}
            WHERE i.status = @status AND i.id > @afterId {condition}
            ORDER BY i.id
            LIMIT @limit
            """,
            new { status = ToDb(status), dataset, afterId, limit }, cancellationToken: cancellationToken));
        return ids.AsList();
    }

    public async Task<long> StartTrainingRunAsync(NewTrainingRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        RequireJsonObject(run.PolicyJson, nameof(run.PolicyJson));
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"""
            INSERT INTO training_runs (parent_model_id, status, pool_policy, version, owner, heartbeat_at, resumed_from_step)
            VALUES (@parentModelId, 'running', {JsonParameter("policy")}, @version, @owner, {NowSql}, @resumedFromStep) RETURNING id
            """,
            new { parentModelId = run.ParentModelId, policy = run.PolicyJson, version = run.Version, owner = run.Owner, resumedFromStep = run.ResumedFromStep },
            cancellationToken: cancellationToken));
    }

    public async Task<bool> HeartbeatTrainingRunAsync(long runId, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE training_runs SET heartbeat_at = {NowSql} WHERE id = @runId AND status = 'running'",
            new { runId }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task<bool> InterruptTrainingRunAsync(long runId, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        // The status test in the same statement is the claim: of two hosts, one updates the row, the other none.
        return await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE training_runs SET status = 'failed', error = @reason, finished_at = {NowSql} WHERE id = @runId AND status = 'running'",
            new { runId, reason }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task FinishTrainingRunAsync(long runId, TrainingRunStatus status, long? modelId, string? poolStatsJson, string? error, CancellationToken cancellationToken)
    {
        if (status == TrainingRunStatus.Running)
        {
            throw new ArgumentException("A finished run is succeeded, failed or cancelled.", nameof(status));
        }

        if (poolStatsJson is not null)
        {
            RequireJsonObject(poolStatsJson, nameof(poolStatsJson));
        }

        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE training_runs SET status = @status, model_id = @modelId, pool_stats = {JsonParameter("stats")}, error = @error, finished_at = {NowSql}
            WHERE id = @runId
            """,
            new { runId, status = status.ToString().ToLowerInvariant(), modelId, stats = poolStatsJson, error }, transaction, cancellationToken: cancellationToken));
        if (updated == 0)
        {
            throw new InvalidOperationException($"No training run {runId}.");
        }

        if (modelId is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE models SET training_run_id = @runId WHERE id = @modelId", new { runId, modelId }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<TrainingRunRecord>> ListTrainingRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<TrainingRunRow>(new CommandDefinition(
            """
            SELECT id AS Id, parent_model_id AS ParentModelId, model_id AS ModelId, status AS Status,
                   CAST(pool_policy AS text) AS Policy, CAST(pool_stats AS text) AS PoolStats, error AS Error,
                   version AS Version, owner AS Owner, heartbeat_at AS HeartbeatAt, resumed_from_step AS ResumedFromStep, started_at AS StartedAt
            FROM training_runs ORDER BY id
            """,
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => new TrainingRunRecord(
            r.Id, r.ParentModelId, r.ModelId, Enum.Parse<TrainingRunStatus>(r.Status, ignoreCase: true), r.Policy, r.PoolStats, r.Error,
            r.Version, r.Owner, Timestamp(r.HeartbeatAt), r.ResumedFromStep, Timestamp(r.StartedAt)))];
    }

    /// <summary>A timestamp column as read: PostgreSQL's timestamptz (a UTC DateTime) or SQLite's ISO-8601 UTC text.</summary>
    private static DateTimeOffset? Timestamp(object? value) => value switch
    {
        null or DBNull => null,
        DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
        DateTimeOffset time => time.ToUniversalTime(),
        string text => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal),
        _ => throw new InvalidDataException($"A timestamp column held a {value.GetType().Name}."),
    };

    private static void RequireJsonObject(string json, string name)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw new ArgumentException($"{name} must be a JSON object, not {document.RootElement.ValueKind}.", name);
            }
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"{name} is not valid JSON: {e.Message}", name, e);
        }
    }

    public async Task<PoolSummary> GetPoolSummaryAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        var images = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM images WHERE status <> 'failed' AND (split IS NULL OR lower(split) <> 'val')", cancellationToken: cancellationToken));
        var classes = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(DISTINCT class_id) FROM image_tags", cancellationToken: cancellationToken));
        return new PoolSummary(images, classes);
    }

    public async Task<string?> GetCheckpointAsync(string scope, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scope);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT last_name FROM scan_checkpoints WHERE scope = @scope", new { scope }, cancellationToken: cancellationToken));
    }

    public async Task SetCheckpointAsync(string scope, string lastName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scope);
        ArgumentNullException.ThrowIfNull(lastName);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO scan_checkpoints (scope, last_name, updated_at) VALUES (@scope, @lastName, {NowSql})
            ON CONFLICT (scope) DO UPDATE SET last_name = excluded.last_name, updated_at = excluded.updated_at
            """,
            new { scope, lastName }, cancellationToken: cancellationToken));
    }

    internal static string ToDb(BoxSource source) => source switch
    {
        BoxSource.Human => "human",
        BoxSource.Pseudo => "pseudo",
        BoxSource.Weak => "weak",
        BoxSource.Discovered => "discovered",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, null),
    };

    private static string ToDb(ImageStatus status) => status switch
    {
        ImageStatus.Pending => "pending",
        ImageStatus.Queued => "queued",
        ImageStatus.Labelled => "labelled",
        ImageStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    private static void ValidateDatasetName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Length > 256 || name.Any(char.IsControl))
        {
            throw new ArgumentException("A dataset name is 1–256 characters without control characters.", nameof(name));
        }
    }

    private static void ValidateImage(NewImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        Blobs.BlobName.Validate(image.BlobPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(image.ContentHash);
        if (image.Width is <= 0 || image.Height is <= 0)
        {
            throw new ArgumentException($"Image '{Blobs.BlobName.Printable(image.BlobPath)}' has a non-positive size.", nameof(image));
        }
    }

    private static void ValidateBox(BoxData box, bool human)
    {
        if (!float.IsFinite(box.X1) || !float.IsFinite(box.Y1) || !float.IsFinite(box.X2) || !float.IsFinite(box.Y2))
        {
            throw new ArgumentException("Box coordinates must be finite.", nameof(box));
        }

        if (box.X2 < box.X1 || box.Y2 < box.Y1)
        {
            throw new ArgumentException($"Box ({box.X1}, {box.Y1}, {box.X2}, {box.Y2}) has x2 < x1 or y2 < y1.", nameof(box));
        }

        if (human != (box.Source == BoxSource.Human))
        {
            throw new ArgumentException(human ? "Human boxes must have source human." : "Model boxes must have source pseudo, weak or discovered.", nameof(box));
        }

        if (!human && box.Score is null)
        {
            throw new ArgumentException("Model boxes carry a score.", nameof(box));
        }

        if (box.Score is { } s && !float.IsFinite(s))
        {
            throw new ArgumentException("Box scores must be finite.", nameof(box));
        }
    }

    private sealed class TagRow
    {
        public long ImageId { get; set; }
        public long ClassId { get; set; }
        public string ClassName { get; set; } = "";
        public string? State { get; set; }
    }

    private sealed class ImageRow
    {
        public long Id { get; set; }
        public long DatasetId { get; set; }
        public string BlobPath { get; set; } = "";
        public string ContentHash { get; set; } = "";
        public int? Width { get; set; }
        public int? Height { get; set; }
        public string? Split { get; set; }
        public string Status { get; set; } = "";
        public int Attempts { get; set; }
        public string? LastError { get; set; }
        public long? LabelledByModelId { get; set; }
    }

    private sealed class BoxRowData
    {
        public long BoxId { get; set; }
        public long ImageId { get; set; }
        public string Dataset { get; set; } = "";
        public string ImagePath { get; set; } = "";
        public string ClassName { get; set; } = "";
        public float X1 { get; set; }
        public float Y1 { get; set; }
        public float X2 { get; set; }
        public float Y2 { get; set; }
        public float? Score { get; set; }
        public string Source { get; set; } = "";
        public string? ModelVersion { get; set; }
    }

    private sealed class PoolHeadRow
    {
        public long Id { get; set; }
        public string Dataset { get; set; } = "";
    }

    private sealed class PoolBoxRow
    {
        public long BoxId { get; set; }
        public long ImageId { get; set; }
        public long ClassId { get; set; }
        public string ClassName { get; set; } = "";
        public float X1 { get; set; }
        public float Y1 { get; set; }
        public float X2 { get; set; }
        public float Y2 { get; set; }
        public float? Score { get; set; }
        public string Source { get; set; } = "";
        public long? ModelId { get; set; }
    }

    private sealed class ProgressRow
    {
        public string Dataset { get; set; } = "";
        public long Images { get; set; }
        public long Pending { get; set; }
        public long Queued { get; set; }
        public long Labelled { get; set; }
        public long Failed { get; set; }
        public long Boxes { get; set; }
    }

    private sealed class TrainingRunRow
    {
        public long Id { get; set; }
        public long? ParentModelId { get; set; }
        public long? ModelId { get; set; }
        public string Status { get; set; } = "";
        public string? Policy { get; set; }
        public string? PoolStats { get; set; }
        public string? Error { get; set; }
        public string? Version { get; set; }
        public string? Owner { get; set; }
        public object? HeartbeatAt { get; set; }
        public int? ResumedFromStep { get; set; }
        public object? StartedAt { get; set; }
    }

    private sealed class ModelRow
    {
        public long Id { get; set; }
        public string Version { get; set; } = "";
        public string Contract { get; set; } = "";
        public string BlobUri { get; set; } = "";
        public string Sha256 { get; set; } = "";
        public string? EmbeddingSpace { get; set; }
        public long? ParentId { get; set; }
        public string Status { get; set; } = "";
        public string? Metrics { get; set; }
        public string? StatusReason { get; set; }
        public long? TrainingRunId { get; set; }

        public ModelRecord ToRecord() =>
            new(Id, Version, Contract, BlobUri, Sha256, EmbeddingSpace, ParentId, Enum.Parse<ModelStatus>(Status, ignoreCase: true), Metrics, StatusReason, TrainingRunId);
    }
}
