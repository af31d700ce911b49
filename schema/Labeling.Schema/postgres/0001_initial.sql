-- Labeling schema v1 for PostgreSQL. Objects are created in the connection's search_path schema.

CREATE TABLE datasets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE models (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version          text NOT NULL UNIQUE,
    parent_id        bigint REFERENCES models (id),
    training_run_id  bigint,
    contract         text NOT NULL,
    embedding_space  text,
    blob_uri         text NOT NULL,
    sha256           text NOT NULL,
    metrics          jsonb,
    status           text NOT NULL DEFAULT 'candidate'
                     CHECK (status IN ('candidate', 'active', 'retired', 'rejected')),
    status_reason    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    activated_at     timestamptz
);
-- At most one active model.
CREATE UNIQUE INDEX ux_models_active ON models (status) WHERE status = 'active';

CREATE TABLE training_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_model_id  bigint REFERENCES models (id),
    model_id         bigint REFERENCES models (id),
    status           text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    pool_policy      jsonb,
    pool_stats       jsonb,
    checkpoint_uri   text,
    error            text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

CREATE TABLE images (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id            bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    blob_path             text NOT NULL UNIQUE,
    content_hash          text NOT NULL,
    width                 integer CHECK (width > 0),
    height                integer CHECK (height > 0),
    split                 text,
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'queued', 'labelled', 'failed')),
    attempts              integer NOT NULL DEFAULT 0,
    last_error            text,
    labelled_by_model_id  bigint REFERENCES models (id),
    labelled_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
-- The same bytes twice in one dataset are one image.
CREATE UNIQUE INDEX ux_images_dataset_hash ON images (dataset_id, content_hash);
-- Progress of a dataset; images of a dataset by status.
CREATE INDEX ix_images_dataset_status ON images (dataset_id, status);

CREATE TABLE classes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE,   -- normalised: trimmed, lower case, '_' as space
    embedding_space  text,
    embedding        bytea,                  -- float32 little-endian vector cache
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE image_tags (
    image_id        bigint NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    class_id        bigint NOT NULL REFERENCES classes (id),
    state           text CHECK (state IN ('grounded', 'weak')),   -- NULL: not labelled by a model yet
    state_model_id  bigint REFERENCES models (id),
    PRIMARY KEY (image_id, class_id)
);
CREATE INDEX ix_image_tags_class_state ON image_tags (class_id, state);

-- boxes is the one big table (millions of rows written with binary COPY). Its references to
-- images, classes and models are checked once per batch by the writer (set-based) rather than
-- by per-row foreign-key triggers, which cost more than the COPY itself; see docs/benchmarks.md.
CREATE TABLE boxes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    image_id     bigint NOT NULL,                          -- images.id
    class_id     bigint NOT NULL,                          -- classes.id
    model_id     bigint,                                   -- models.id; NULL for human boxes
    x1           real NOT NULL,
    y1           real NOT NULL,
    x2           real NOT NULL,
    y2           real NOT NULL,
    score        real,                                    -- NULL for human boxes
    source       text NOT NULL CHECK (source IN ('human', 'pseudo', 'weak', 'discovered')),
    labelled_at  timestamptz NOT NULL,
    CHECK (x2 >= x1 AND y2 >= y1)
);
-- Boxes of a class above a score.
CREATE INDEX ix_boxes_class_score ON boxes (class_id, score);
-- Boxes of an image; the (image, model) replace on relabel.
CREATE INDEX ix_boxes_image_model ON boxes (image_id, model_id);

-- Where an inbox scan got to (Azure listing order), per container/prefix.
CREATE TABLE scan_checkpoints (
    scope       text PRIMARY KEY,
    last_name   text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The work queue of the scale-out mode is Azure Storage Queues; the embedded queue table exists only in SQLite.
