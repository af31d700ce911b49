-- Job control per dataset (docs/workers.md, "Dataset control"): a dataset is active or paused, has a priority (which
-- label queue its batches go to), an optional cap on the batches it may have in flight at once, and a generation that
-- a cancel or a priority change bumps: label messages carry the generation they were queued under, and workers drop
-- messages of an older one.
ALTER TABLE datasets ADD COLUMN state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused'));
ALTER TABLE datasets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal', 'low'));
ALTER TABLE datasets ADD COLUMN max_concurrent_batches INTEGER CHECK (max_concurrent_batches > 0);
ALTER TABLE datasets ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- One row per label batch a worker is running: taken on starting the batch only while the dataset's live (unexpired)
-- leases are below its cap, renewed while the batch runs, deleted when it ends. A worker that died leaves a row that
-- stops counting when it expires.
CREATE TABLE batch_leases (
    batch       TEXT PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX ix_batch_leases_dataset ON batch_leases (dataset_id, expires_at);

-- The rate per dataset counts images labelled in the last minutes.
CREATE INDEX ix_images_dataset_labelled_at ON images (dataset_id, labelled_at) WHERE labelled_at IS NOT NULL;
