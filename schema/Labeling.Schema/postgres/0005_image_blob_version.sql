-- Re-ingest (docs/ingest.md, "Changed files"): the scan records the blob version (ETag, length) each image was hashed
-- from, and re-hashes a known path when its listing shows another one. content_hash is now the SHA-256 of the bytes
-- (64 hex digits); rows from before this migration keep their MD5 (32 hex digits) and no version until the next scan
-- re-hashes them, which it does for every known path without a recorded version.
ALTER TABLE images ADD COLUMN blob_etag text;
ALTER TABLE images ADD COLUMN blob_size bigint CHECK (blob_size >= 0);
