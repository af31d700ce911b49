-- Readable views for people who query labels in plain SQL (docs/sql.md). Same columns in SQLite.

CREATE VIEW labelled_boxes AS
SELECT b.id          AS box_id,
       d.name        AS dataset,
       i.id          AS image_id,
       i.blob_path   AS image_path,
       i.width       AS width,
       i.height      AS height,
       i.split       AS split,
       c.name        AS class_name,
       b.x1, b.y1, b.x2, b.y2,
       b.score       AS score,
       b.source      AS source,
       m.version     AS model_version,
       b.labelled_at AS labelled_at
FROM boxes b
JOIN images i   ON i.id = b.image_id
JOIN datasets d ON d.id = i.dataset_id
JOIN classes c  ON c.id = b.class_id
LEFT JOIN models m ON m.id = b.model_id;

CREATE VIEW dataset_progress AS
SELECT d.name AS dataset,
       COUNT(i.id) AS images,
       COUNT(CASE WHEN i.status = 'pending'  THEN 1 END) AS pending,
       COUNT(CASE WHEN i.status = 'queued'   THEN 1 END) AS queued,
       COUNT(CASE WHEN i.status = 'labelled' THEN 1 END) AS labelled,
       COUNT(CASE WHEN i.status = 'failed'   THEN 1 END) AS failed,
       (SELECT COUNT(*) FROM boxes b JOIN images bi ON bi.id = b.image_id WHERE bi.dataset_id = d.id) AS boxes
FROM datasets d
LEFT JOIN images i ON i.dataset_id = d.id
GROUP BY d.id, d.name;

CREATE VIEW image_tag_states AS
SELECT d.name     AS dataset,
       i.id       AS image_id,
       i.blob_path AS image_path,
       c.name     AS tag,
       COALESCE(t.state, 'unlabelled') AS state,
       m.version  AS model_version
FROM image_tags t
JOIN images i   ON i.id = t.image_id
JOIN datasets d ON d.id = i.dataset_id
JOIN classes c  ON c.id = t.class_id
LEFT JOIN models m ON m.id = t.state_model_id;

CREATE VIEW failed_images AS
SELECT d.name AS dataset, i.id AS image_id, i.blob_path AS image_path, i.attempts, i.last_error, i.updated_at
FROM images i
JOIN datasets d ON d.id = i.dataset_id
WHERE i.status = 'failed';
