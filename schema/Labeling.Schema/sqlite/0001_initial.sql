-- Labeling schema v1 for SQLite. Timestamps are ISO-8601 UTC text; ids are INTEGER PRIMARY KEY (rowid).

CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE models (
    id               INTEGER PRIMARY KEY,
    version          TEXT NOT NULL UNIQUE,
    parent_id        INTEGER REFERENCES models (id),
    training_run_id  INTEGER,
    contract         TEXT NOT NULL,
    embedding_space  TEXT,
    blob_uri         TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    metrics          TEXT,            -- JSON
    status           TEXT NOT NULL DEFAULT 'candidate'
                     CHECK (status IN ('candidate', 'active', 'retired', 'rejected')),
    status_reason    TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    activated_at     TEXT
);
-- At most one active model.
CREATE UNIQUE INDEX ux_models_active ON models (status) WHERE status = 'active';

CREATE TABLE training_runs (
    id               INTEGER PRIMARY KEY,
    parent_model_id  INTEGER REFERENCES models (id),
    model_id         INTEGER REFERENCES models (id),
    status           TEXT NOT NULL DEFAULT 'running'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    pool_policy      TEXT,            -- JSON
    pool_stats       TEXT,            -- JSON
    checkpoint_uri   TEXT,
    error            TEXT,
    started_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at      TEXT
);

CREATE TABLE images (
    id                    INTEGER PRIMARY KEY,
    dataset_id            INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    blob_path             TEXT NOT NULL UNIQUE,
    content_hash          TEXT NOT NULL,
    width                 INTEGER CHECK (width > 0),
    height                INTEGER CHECK (height > 0),
    split                 TEXT,
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'queued', 'labelled', 'failed')),
    attempts              INTEGER NOT NULL DEFAULT 0,
    last_error            TEXT,
    labelled_by_model_id  INTEGER REFERENCES models (id),
    labelled_at           TEXT,
    created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- The same bytes twice in one dataset are one image.
CREATE UNIQUE INDEX ux_images_dataset_hash ON images (dataset_id, content_hash);
-- Progress of a dataset; images of a dataset by status.
CREATE INDEX ix_images_dataset_status ON images (dataset_id, status);

CREATE TABLE classes (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,   -- normalised: trimmed, lower case, '_' as space
    embedding_space  TEXT,
    embedding        BLOB,                   -- float32 little-endian vector cache
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE image_tags (
    image_id        INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    class_id        INTEGER NOT NULL REFERENCES classes (id),
    state           TEXT CHECK (state IN ('grounded', 'weak')),   -- NULL: not labelled by a model yet
    state_model_id  INTEGER REFERENCES models (id),
    PRIMARY KEY (image_id, class_id)
) WITHOUT ROWID;
CREATE INDEX ix_image_tags_class_state ON image_tags (class_id, state);

-- boxes is the one big table (millions of rows written in bulk). Its references to images,
-- classes and models are checked once per batch by the writer (set-based) rather than by
-- per-row foreign keys, which cost more than the inserts themselves; see docs/benchmarks.md.
CREATE TABLE boxes (
    id           INTEGER PRIMARY KEY,
    image_id     INTEGER NOT NULL,                          -- images.id
    class_id     INTEGER NOT NULL,                          -- classes.id
    model_id     INTEGER,                                   -- models.id; NULL for human boxes
    x1           REAL NOT NULL,
    y1           REAL NOT NULL,
    x2           REAL NOT NULL,
    y2           REAL NOT NULL,
    score        REAL,                                      -- NULL for human boxes
    source       TEXT NOT NULL CHECK (source IN ('human', 'pseudo', 'weak', 'discovered')),
    labelled_at  TEXT NOT NULL,
    CHECK (x2 >= x1 AND y2 >= y1)
);
-- Boxes of a class above a score.
CREATE INDEX ix_boxes_class_score ON boxes (class_id, score);
-- Boxes of an image; the (image, model) replace on relabel.
CREATE INDEX ix_boxes_image_model ON boxes (image_id, model_id);

-- Where an inbox scan got to (Azure listing order), per container/prefix.
CREATE TABLE scan_checkpoints (
    scope       TEXT PRIMARY KEY,
    last_name   TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The embedded work queue (Azure Storage Queue semantics). Times are Unix milliseconds.
CREATE TABLE queue_messages (
    id             INTEGER PRIMARY KEY,
    queue          TEXT NOT NULL,
    message_id     TEXT NOT NULL UNIQUE,
    body           TEXT NOT NULL,
    inserted_at    INTEGER NOT NULL,
    visible_at     INTEGER NOT NULL,
    dequeue_count  INTEGER NOT NULL DEFAULT 0,
    pop_receipt    TEXT
);
CREATE INDEX ix_queue_messages_visible ON queue_messages (queue, visible_at);
