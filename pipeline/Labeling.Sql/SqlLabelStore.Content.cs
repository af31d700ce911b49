using Dapper;
using Labeling.Labels;

namespace Labeling.Sql;

// Re-ingest (docs/ingest.md, "Changed files"): the blob version each image was hashed from, and what a new one does.
internal abstract partial class SqlLabelStore
{
    public async Task<IReadOnlyDictionary<string, ImageBlob>> GetImageBlobsAsync(IReadOnlyList<string> blobPaths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobPaths);
        var result = new Dictionary<string, ImageBlob>(StringComparer.Ordinal);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var chunk in blobPaths.Distinct(StringComparer.Ordinal).Chunk(InListChunk))
        {
            var rows = await connection.QueryAsync<(long Id, string Path, string Hash, string? ETag, long? Size)>(new CommandDefinition(
                $"SELECT id, blob_path, content_hash, blob_etag, blob_size FROM images WHERE {InList("blob_path", "paths")}",
                new { paths = chunk }, cancellationToken: cancellationToken));
            foreach (var (id, path, hash, etag, size) in rows)
            {
                result[path] = new ImageBlob(id, path, hash, etag, size);
            }
        }

        return result;
    }

    public async Task<IReadOnlyList<ContentUpdate>> UpdateContentAsync(IReadOnlyList<ImageContent> images, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        foreach (var image in images)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(image.ContentHash);
            ArgumentNullException.ThrowIfNull(image.ETag);
            ArgumentOutOfRangeException.ThrowIfNegative(image.Size);
        }

        var results = new List<ContentUpdate>(images.Count);
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var image in images)
        {
            var datasetId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT dataset_id FROM images WHERE id = @ImageId", new { image.ImageId }, transaction, cancellationToken: cancellationToken));
            if (datasetId is null)
            {
                results.Add(new ContentUpdate(image.ImageId, ContentUpdateOutcome.Missing));
                continue;
            }

            // Checked first rather than caught: on PostgreSQL a unique violation would abort the whole transaction.
            var holder = await connection.QuerySingleOrDefaultAsync<(long Id, string Path)?>(new CommandDefinition(
                "SELECT id, blob_path FROM images WHERE dataset_id = @datasetId AND content_hash = @ContentHash AND id <> @ImageId",
                new { datasetId, image.ContentHash, image.ImageId }, transaction, cancellationToken: cancellationToken));
            var version = new { image.ImageId, image.ContentHash, image.ETag, image.Size };
            if (!image.Changed)
            {
                // Same bytes: only the version, and the hash when no other image claims it (a legacy MD5 row meeting a copy registered by SHA-256).
                await connection.ExecuteAsync(new CommandDefinition(
                    holder is null
                        ? $"UPDATE images SET content_hash = @ContentHash, blob_etag = @ETag, blob_size = @Size, updated_at = {NowSql} WHERE id = @ImageId"
                        : $"UPDATE images SET blob_etag = @ETag, blob_size = @Size, updated_at = {NowSql} WHERE id = @ImageId",
                    version, transaction, cancellationToken: cancellationToken));
                results.Add(holder is { } same
                    ? new ContentUpdate(image.ImageId, ContentUpdateOutcome.DuplicateContent, same.Id)
                    : new ContentUpdate(image.ImageId, ContentUpdateOutcome.Unchanged));
                continue;
            }

            string? reason;
            string status;
            if (holder is { } other)
            {
                reason = $"duplicate-content: its bytes are now those of image {other.Id} ('{Labeling.Blobs.BlobName.Printable(other.Path)}') of the same dataset; replace or delete one of the two files";
                status = "failed";
                await connection.ExecuteAsync(new CommandDefinition(
                    $"UPDATE images SET blob_etag = @ETag, blob_size = @Size, updated_at = {NowSql} WHERE id = @ImageId",
                    version, transaction, cancellationToken: cancellationToken));
            }
            else
            {
                reason = Truncate(image.FailReason);
                status = reason is null ? "pending" : "failed";
                await connection.ExecuteAsync(new CommandDefinition(
                    $"UPDATE images SET content_hash = @ContentHash, blob_etag = @ETag, blob_size = @Size, updated_at = {NowSql} WHERE id = @ImageId",
                    version, transaction, cancellationToken: cancellationToken));
            }

            // What a model said about the old bytes is no label of the new ones; human boxes and tags belong to the path's metadata.
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM boxes WHERE image_id = @ImageId AND model_id IS NOT NULL", new { image.ImageId }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE image_tags SET state = NULL, state_model_id = NULL WHERE image_id = @ImageId", new { image.ImageId }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE images
                SET status = @status, last_error = @reason, labelled_by_model_id = NULL, labelled_at = NULL,
                    width = NULL, height = NULL, updated_at = {NowSql}
                WHERE id = @ImageId
                """,
                new { image.ImageId, status, reason }, transaction, cancellationToken: cancellationToken));
            results.Add(holder is { } duplicate
                ? new ContentUpdate(image.ImageId, ContentUpdateOutcome.DuplicateContent, duplicate.Id)
                : new ContentUpdate(image.ImageId, ContentUpdateOutcome.Reset));
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }
}
