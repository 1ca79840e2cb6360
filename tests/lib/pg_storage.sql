-- The sync service's Postgres bucket storage, as its migrations leave it
-- (powersync-service 1.25, modules/module-postgres-storage/src/migrations/
-- scripts/, in order; the schema name is fixed: src/utils/db.ts
-- STORAGE_SCHEMA_NAME). Only the tables syncctl reads.
--   1684951997326-init.ts              sync_rules, source_tables
--   1749024804042-snapshot-progress.ts sync_rules.snapshot_lsn, source_tables.snapshot_*
--   1771232439485-storage-version.ts   sync_rules.storage_version
--   1771491856000-sync-plan.ts         sync_rules.sync_plan
--   1784900000000-source-metadata.ts   source_tables.source_metadata
CREATE SCHEMA IF NOT EXISTS powersync;
CREATE SEQUENCE powersync.sync_rules_id_sequence AS int START WITH 1;
CREATE TABLE powersync.sync_rules (
	id INTEGER PRIMARY KEY,
	state TEXT NOT NULL,
	snapshot_done BOOLEAN NOT NULL DEFAULT FALSE,
	last_checkpoint BIGINT,
	last_checkpoint_lsn TEXT,
	no_checkpoint_before TEXT,
	slot_name TEXT,
	last_checkpoint_ts TIMESTAMP WITH TIME ZONE,
	last_keepalive_ts TIMESTAMP WITH TIME ZONE,
	keepalive_op BIGINT,
	last_fatal_error TEXT,
	content TEXT NOT NULL
);
CREATE TABLE powersync.source_tables (
	id TEXT PRIMARY KEY,
	group_id integer NOT NULL,
	connection_id integer NOT NULL,
	relation_id jsonb,
	schema_name text NOT NULL,
	table_name text NOT NULL,
	replica_id_columns jsonb,
	snapshot_done BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX source_table_lookup ON powersync.source_tables (group_id, table_name);
ALTER TABLE powersync.sync_rules ADD COLUMN snapshot_lsn TEXT;
ALTER TABLE powersync.source_tables ADD COLUMN snapshot_total_estimated_count INTEGER,
	ADD COLUMN snapshot_replicated_count INTEGER, ADD COLUMN snapshot_last_key BYTEA;
ALTER TABLE powersync.sync_rules ADD COLUMN storage_version integer NOT NULL DEFAULT 1;
ALTER TABLE powersync.sync_rules ADD COLUMN sync_plan JSON;
ALTER TABLE powersync.source_tables ADD COLUMN source_metadata JSONB;
