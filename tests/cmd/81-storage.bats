#!/usr/bin/env bats
# syncctl storage: the bucket storage read as the sync service reads it
# (powersync-service 1.25, modules/module-mongodb-storage and
# module-postgres-storage). MongoDB through tests/lib/fake_mongo.py (its
# documents follow the service's own models, files cited there); Postgres
# storage in a real server, laid out by tests/lib/pg_storage.sql as the
# service's migrations lay it out.

load helpers

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE lists (id uuid PRIMARY KEY, name text)" \
		-c "SELECT pg_create_logical_replication_slot('powersync_1_a3f2', 'pgoutput')" \
		-c "SELECT pg_create_logical_replication_slot('powersync_2_5b1c', 'pgoutput')" >/dev/null
	q "$URI" -c "CREATE DATABASE storage"
	export STORE=${URI%/postgres}/storage
	q "$STORE" -f "$ROOT/tests/lib/pg_storage.sql" >/dev/null
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	SPID=
	q "$STORE" -c "TRUNCATE powersync.sync_rules, powersync.source_tables" >/dev/null
}

teardown() {
	[ -z "$SPID" ] || stop_server
}

@test "storage: a replica set with ACTIVE rules, a fresh keepalive and the slot on the source passes" {
	start_server fake_mongo.py replset
	sc storage --storage "$(mongo_uri)" --db "$URI" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.replica_set message)" = "replica set rs0" ]
	[ "$(check_field storage.sync_rules message)" = "sync rules are ACTIVE (slot powersync_1_a3f2)" ]
	[ "$(check_field storage.sync_rules details)" = '{"id": 1, "state": "ACTIVE", "snapshot_done": true, "slot_name": "powersync_1_a3f2", "storage_version": 2, "last_fatal_error": null}' ]
	[ "$(check_field storage.keepalive status)" = ok ]
	[ "$(check_field storage.slot message)" = "slot powersync_1_a3f2 exists on the source database" ]
	! has_check storage.deploying
}

@test "storage: a standalone fails with the rs.initiate hint; a sharded cluster fails" {
	start_server fake_mongo.py standalone
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.replica_set status)" = fail ]
	[[ "$(check_field storage.replica_set hint)" == *"rs.initiate()"* ]]
	start_server fake_mongo.py sharded
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[[ "$(check_field storage.replica_set message)" == "this is a sharded cluster (mongos)"* ]]
}

@test "storage: MongoDB older than 6.0 warns" {
	start_server fake_mongo.py replset --version 5.0.14
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.version status)" = warn ]
	[ "$(check_field storage.version message)" = "MongoDB 5.0.14 is older than 6.0, which the service expects" ]
}

@test "storage: ACTIVE rules with last_fatal_error fail with the error and its age (reportError leaves the state alone)" {
	start_server fake_mongo.py replset --scenario active-fatal
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.sync_rules status)" = fail ]
	[ "$(check_field storage.sync_rules message)" = "sync rules #1 are ACTIVE but replication is failing: permission denied for table lists (recorded 42 s ago)" ]
	[[ "$(check_field storage.sync_rules hint)" == "grant the replication role what the message names"* ]]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='storage.sync_rules'][0]['details']['last_fatal_error']")" = "permission denied for table lists" ]
}

@test "storage: an ERRORED stream and its PROCESSING replacement are reported as a replacement in progress, with snapshot progress" {
	start_server fake_mongo.py replset --scenario errored-replaced
	sc storage --storage "$(mongo_uri)" --db "$URI" --json
	stop_server
	expect_status 1
	[[ "$(check_field storage.sync_rules message)" == "sync rules #1 ERRORED: [PSYNC_S1146] Replication slot powersync_1_a3f2 was invalidated (reason: wal_removed)."*" (recorded 10 min ago); clients are still served from them, but nothing replicates" ]]
	[[ "$(check_field storage.sync_rules hint)" == "the service is replacing them with #2 (storage.deploying); the slot was lost"* ]]
	[ "$(check_field storage.deploying status)" = warn ]
	[ "$(check_field storage.deploying message)" = "sync rules #2 (slot powersync_2_5b1c), replacing #1 (ERRORED), are in their initial replication: 1 of 3 tables copied, 1200 of ~5000 rows of the tables still copying" ]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='storage.deploying'][0]['details']['snapshot']")" = '{"tables": 3, "tables_done": 1, "rows_replicated": 1200, "rows_estimated": 5000}' ]
	# The ERRORED stream no longer replicates: its slot is not looked for; the replacement's is.
	! has_check storage.slot
	[ "$(check_field storage.deploying.slot message)" = "slot powersync_2_5b1c exists on the source database" ]
}

@test "storage: ACTIVE rules with a PROCESSING replacement pass, the redeploy warns with its progress" {
	start_server fake_mongo.py replset --scenario replacing
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.sync_rules status)" = ok ]
	[[ "$(check_field storage.deploying message)" == "sync rules #2 (slot powersync_2_5b1c), replacing #1 (ACTIVE), are in their initial replication: 1 of 3 tables"* ]]
}

@test "storage: a first deploy warns (not 'no sync rules'), and has no keepalive to judge" {
	start_server fake_mongo.py replset --scenario first-deploy
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.sync_rules message)" = "no active sync rules yet: the first deploy (#1, slot powersync_1_a3f2) is in its initial replication" ]
	[ "$(check_field storage.deploying status)" = warn ]
	! has_check storage.keepalive
	start_server fake_mongo.py replset --scenario snapshot-done
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	[ "$(check_field storage.deploying status)" = ok ]
	[[ "$(check_field storage.deploying message)" == *"have their snapshot and become active at the next checkpoint" ]]
}

@test "storage: a deploy whose slot was lost during the snapshot fails (it stays PROCESSING with last_fatal_error)" {
	start_server fake_mongo.py replset --scenario deploy-fatal
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[[ "$(check_field storage.deploying message)" == "sync rules #1 (slot powersync_1_a3f2), the first deploy, fail to replicate: [PSYNC_S1146] Replication slot powersync_1_a3f2 was invalidated during snapshot."*"(recorded 30 s ago)" ]]
}

@test "storage: STOP and TERMINATED rows are history; the highest ACTIVE one is current" {
	start_server fake_mongo.py replset --scenario history
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(json_get "[c for c in d['checks'] if c['id']=='storage.sync_rules'][0]['details']['id']")" = 3 ]
	! has_check storage.deploying
}

@test "storage: the storage version 3 layout (sync_configs[] in the stream) is read too" {
	start_server fake_mongo.py replset --scenario v3-active
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.sync_rules message)" = "sync rules are ACTIVE (slot powersync_1_a3f2)" ]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='storage.sync_rules'][0]['details']['storage_version']")" = 3 ]
	start_server fake_mongo.py replset --scenario v3-replacing
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.sync_rules status)" = ok ]
	[ "$(check_field storage.deploying message)" = "new sync rules in stream #1 (slot powersync_1_a3f2), replacing its active ones, are in their initial replication: 1 of 3 tables copied, 1200 of ~5000 rows of the tables still copying" ]
	start_server fake_mongo.py replset --scenario v3-fatal
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.sync_rules message)" = "sync rules #1 are ACTIVE but replication is failing: permission denied for table lists (recorded 5 s ago)" ]
}

@test "storage: the keepalive is judged as diagnostics.ts does: max(last_checkpoint_ts, last_keepalive_ts), warn over 5 minutes, fail over 15" {
	start_server fake_mongo.py replset --keepalive-age 1000 --checkpoint-age 20
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	[ "$(check_field storage.keepalive status)" = ok ]
	start_server fake_mongo.py replset --keepalive-age 400
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.keepalive status)" = warn ]
	[[ "$(check_field storage.keepalive message)" == "No replicated commit in more than 40"[01]"s (7 min, over 5 minutes)" ]]
	start_server fake_mongo.py replset --keepalive-age 1000 --checkpoint-age 990
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.keepalive status)" = fail ]
	[[ "$(check_field storage.keepalive message)" == "No replicated commit in more than 99"[01]"s ("*"over 15 minutes): replication has stopped" ]]
	start_server fake_mongo.py replset --no-timestamps
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	[ "$(check_field storage.keepalive status)" = warn ]
	[ "$(check_field storage.keepalive message)" = "No checkpoint found, cannot calculate replication lag" ]
}

@test "storage: a command MongoDB refuses is its own message, exit 3 (never 'no sync rules are stored'); inside doctor a failing check" {
	msg='not authorized on powersync to execute command { find: "sync_rules", $db: "powersync" }'
	start_server fake_mongo.py replset --fail "find:13:$msg"
	sc storage --storage "$(mongo_uri)" --json
	expect_status 3
	[ "$(check_field storage.sync_rules status)" = fail ]
	[ "$(check_field storage.sync_rules message)" = "cannot read the sync rules in powersync.sync_rules: $msg (code 13)" ]
	sc doctor --only storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.sync_rules group)" = storage ]
	[ "$(check_field storage.sync_rules message)" = "cannot read the sync rules in powersync.sync_rules: $msg (code 13)" ]
	start_server fake_mongo.py replset --fail "listDatabases:13:not authorized on admin to execute command { listDatabases: 1 }"
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 3
	[ "$(check_field storage.database message)" = "cannot list the databases to find powersync: not authorized on admin to execute command { listDatabases: 1 } (code 13)" ]
}

@test "storage: a slot missing on the source database fails" {
	start_server fake_mongo.py replset --slot powersync_9_dead
	sc storage --storage "$(mongo_uri)" --db "$URI" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.slot message)" = "the storage points at slot powersync_9_dead, which does not exist on the source database" ]
}

@test "storage init: initiates a never-initiated replica set, and does nothing the second time" {
	start_server fake_mongo.py uninitiated
	sc storage --storage "$(mongo_uri)" --json
	[ "$(check_field storage.replica_set hint)" = "syncctl storage init (or: mongosh --eval 'rs.initiate()')" ]
	sc storage init --storage "$(mongo_uri)?replicaSet=rs0"
	expect_status 0
	[[ "$output" == "initiated replica set rs0 with one member, 127.0.0.1:$PORT" ]]
	sc storage init --storage "$(mongo_uri)"
	expect_status 0
	[ "$output" = "replica set rs0 is already initiated: nothing to do" ]
	stop_server
}

@test "storage: an unreachable MongoDB could not be checked: exit 3 within --timeout" {
	start=$(date +%s%N)
	sc storage --storage "mongodb://127.0.0.1:1/powersync" --timeout 2 --json
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	expect_status 3
	[ "$(check_field storage.connect status)" = fail ]
	[ "$elapsed" -lt 5000 ]
}

@test "storage: a database the URI names that does not exist yet warns; Postgres storage without its schema warns" {
	start_server fake_mongo.py replset --database other --scenario none
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.database message)" = "database powersync does not exist (yet)" ]
	[ "$(check_field storage.sync_rules message)" = "no sync rules are stored: the service has not deployed any yet" ]
	sc storage --storage "$URI" --json
	expect_status 0
	[ "$(check_field storage.database message)" = "schema powersync has no sync_rules table (yet)" ]
}

# Rows as PostgresBucketStorageFactory.ts inserts them (id, content, state,
# slot_name, storage_version), then as the batch writes them.
pg_row() { # id state slot snapshot_done fatal keepalive_age checkpoint_age
	q "$STORE" -c "INSERT INTO powersync.sync_rules (id, content, state, slot_name, snapshot_done, last_fatal_error,
		last_keepalive_ts, last_checkpoint_ts, last_checkpoint_lsn) VALUES ($1, 'bucket_definitions: {}', '$2', '$3', $4,
		NULLIF('$5', ''), now() - interval '$6 seconds', CASE WHEN '$7' = '' THEN NULL ELSE now() - interval '${7:-0} seconds' END,
		CASE WHEN $4 THEN '0/16B3790' END)" >/dev/null
}

@test "storage: Postgres bucket storage is read from powersync.sync_rules as the service lays it out" {
	pg_row 1 ACTIVE powersync_1_a3f2 true "" 5 5
	sc storage --storage "$STORE" --db "$URI" --json
	expect_status 0
	[ "$(check_field storage.database message)" = "schema powersync is in place" ]
	[ "$(check_field storage.sync_rules message)" = "sync rules are ACTIVE (slot powersync_1_a3f2)" ]
	[ "$(check_field storage.keepalive status)" = ok ]
	[ "$(check_field storage.slot status)" = ok ]
	# reportError: last_fatal_error on the ACTIVE row, no time kept in Postgres storage.
	q "$STORE" -c "UPDATE powersync.sync_rules SET last_fatal_error = 'no space left on device'" >/dev/null
	sc storage --storage "$STORE" --json
	expect_status 1
	[ "$(check_field storage.sync_rules message)" = "sync rules #1 are ACTIVE but replication is failing: no space left on device" ]
}

@test "storage: Postgres storage: ERRORED with a PROCESSING replacement and its source_tables progress; keepalive max(); STOP ignored" {
	pg_row 1 STOP powersync_1_0000 true "" 5 5
	pg_row 2 ERRORED powersync_1_a3f2 true "Replication slot powersync_1_a3f2 is missing" 2000 400
	pg_row 3 PROCESSING powersync_2_5b1c false "" 1 ""
	q "$STORE" -c "INSERT INTO powersync.source_tables (id, group_id, connection_id, schema_name, table_name, snapshot_done,
		snapshot_total_estimated_count, snapshot_replicated_count) VALUES
		('a', 3, 1, 'public', 'lists', true, NULL, NULL), ('b', 3, 1, 'public', 'todos', false, 800, 300),
		('c', 2, 1, 'public', 'lists', true, NULL, NULL)" >/dev/null
	sc storage --storage "$STORE" --db "$URI" --json
	expect_status 1
	[ "$(check_field storage.sync_rules message)" = "sync rules #2 ERRORED: Replication slot powersync_1_a3f2 is missing; clients are still served from them, but nothing replicates" ]
	[ "$(check_field storage.deploying message)" = "sync rules #3 (slot powersync_2_5b1c), replacing #2 (ERRORED), are in their initial replication: 1 of 2 tables copied, 300 of ~800 rows of the tables still copying" ]
	[ "$(check_field storage.keepalive status)" = warn ]
	# Written 400 s back; a loaded machine may take a few seconds more to ask.
	[[ "$(check_field storage.keepalive message)" =~ ^"No replicated commit in more than 40"[0-9]"s " ]]
	[ "$(check_field storage.deploying.slot status)" = ok ]
}

@test "storage: a role that may not read powersync.sync_rules: the server's message, exit 3" {
	q "$STORE" -c "DROP ROLE IF EXISTS outsider" -c "CREATE ROLE outsider LOGIN" -c "GRANT USAGE ON SCHEMA powersync TO outsider" >/dev/null
	pg_row 1 ACTIVE powersync_1_a3f2 true "" 5 5
	sc storage --storage "${STORE/postgres@/outsider@}" --json
	expect_status 3
	[ "$(check_field storage.sync_rules message)" = "cannot read powersync.sync_rules: permission denied for table sync_rules" ]
	sc doctor --only storage --storage "${STORE/postgres@/outsider@}" --json
	expect_status 1
	[ "$(check_field storage.sync_rules status)" = fail ]
}
