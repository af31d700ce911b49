-- Crash-safe retraining: a run names the candidate it builds, the process that runs it and when that process last
-- showed life, so that a host can tell a run whose process died (and resume it from its checkpoint) from a live one.
ALTER TABLE training_runs ADD COLUMN version text;
ALTER TABLE training_runs ADD COLUMN owner text;
ALTER TABLE training_runs ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE training_runs ADD COLUMN resumed_from_step integer;
CREATE INDEX ix_training_runs_running ON training_runs (status) WHERE status = 'running';
