#!/usr/bin/env bats
# Every command once against a real server of one Postgres major:
# SYNCCTL_PG_MAJOR (11 to 18), its binaries from tests/lib/pg-bin.
# tests/run.sh runs this file once per major; each test asserts the exact
# outcome this major must give.

load ../cmd/helpers
load matrix

setup_file() {
	M=${SYNCCTL_PG_MAJOR:?set SYNCCTL_PG_MAJOR to the Postgres major to test}
	export M
	pg_start --major "$M"
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE DATABASE other"
	export OTHER=${URI%/postgres}/other
	# Tables with every kind of column tenant-sync and compare hash.
	printf '%s\n' "$SCHEMA_SQL" >"$BATS_FILE_TMPDIR/schema.sql"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

@test "PG $SYNCCTL_PG_MAJOR: the server is that major" {
	[ "$(q "$URI" -c "SELECT current_setting('server_version_num')::int / 10000")" = "$M" ]
}

@test "PG $SYNCCTL_PG_MAJOR: schema init applies the schema, creates the publication and the role; a second run is a no-op" {
	printf 'pw-%s\n' "$RANDOM" >"$W/password"
	chmod 600 "$W/password"
	sc schema init --db "$URI" -f "$BATS_FILE_TMPDIR/schema.sql" --role sync_reader --password-file "$W/password" --json
	expect_status 0
	[ "$(check_field schema.file.schema.sql message)" = "schema.sql applied (2 statements)" ]
	[ "$(check_field schema.publication message)" = "created publication powersync FOR ALL TABLES" ]
	[ "$(check_field schema.role message)" = "created role sync_reader with LOGIN, REPLICATION, BYPASSRLS and SELECT on the synced tables" ]
	[ "$(q "$URI" -c "SELECT rolcanlogin AND rolreplication AND rolbypassrls FROM pg_roles WHERE rolname = 'sync_reader'")" = t ]
	[ "$(q "$URI" -c "SELECT has_table_privilege('sync_reader', 'public.todos', 'SELECT')")" = t ]
	[ "$(q "$URI" -c "SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate AND puballtables FROM pg_publication WHERE pubname = 'powersync'")" = t ]
	sc schema init --db "$URI" -f "$BATS_FILE_TMPDIR/schema.sql"
	expect_status 0
	[[ "$output" == *"schema init: nothing to do"* ]]
	# The other database gets the same tables, for compare and tenant-sync.
	sc schema init --db "$OTHER" -f "$BATS_FILE_TMPDIR/schema.sql"
	expect_status 0
}

@test "PG $SYNCCTL_PG_MAJOR: slots: a healthy server passes every settings check, --strict too (exit 0)" {
	sc slots --db "$URI" --strict --json
	expect_status 0
	[ "$(json_get "d['status']")" = ok ]
	[ "$(check_field pg.wal_level status)" = ok ]
	[ "$(check_field pg.max_replication_slots message)" = "max_replication_slots = 10: 0 used, 10 free" ]
	[ "$(check_field pg.max_wal_senders status)" = ok ]
	[ "$(check_field pg.role message)" = "role postgres has superuser" ]
	# max_slot_wal_keep_size exists from 13; its default is no limit.
	if [ "$M" -ge 13 ]; then
		[ "$(check_field pg.max_slot_wal_keep_size message)" = "max_slot_wal_keep_size = -1: unlimited retention, a slot keeps all the WAL its consumer has not confirmed" ]
	else
		[ "$(json_get "[c['id'] for c in d['checks'] if c['id'] == 'pg.max_slot_wal_keep_size']")" = "[]" ]
	fi
}

@test "PG $SYNCCTL_PG_MAJOR: slots: an inactive slot warns it can fill the disk; slots drop drops it" {
	q "$URI" -c "SELECT pg_create_logical_replication_slot('powersync_1_a3f2', 'pgoutput')" >/dev/null
	sc slots --db "$URI" --json
	expect_status 0
	[ "$(check_field pg.slot.powersync_1_a3f2 status)" = warn ]
	if [ "$M" -ge 13 ]; then
		[[ "$(check_field pg.slot.powersync_1_a3f2 message)" == *"with no limit (max_slot_wal_keep_size = -1): it can fill the disk"* ]]
		[[ "$(check_field pg.slot.powersync_1_a3f2 hint)" == "cap what a slot may retain: ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';"* ]]
		[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']['wal_status']")" = reserved ]
	else
		[[ "$(check_field pg.slot.powersync_1_a3f2 message)" == *"with no limit (no max_slot_wal_keep_size before PostgreSQL 13): it can fill the disk"* ]]
		[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']['wal_status']")" = null ]
	fi
	# The columns this major has, and only those.
	[ "$(json_get "'conflicting' in [c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']")" = "$([ "$M" -ge 16 ] && echo true || echo false)" ]
	[ "$(json_get "'inactive_since' in [c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']")" = "$([ "$M" -ge 17 ] && echo true || echo false)" ]
	sc slots --db "$URI" --strict
	expect_status 1
	sc slots drop powersync_1_a3f2 --db "$URI" --yes
	expect_status 0
	[ "$(q "$URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'syncctl_watch_%'")" = 0 ]
}

@test "PG $SYNCCTL_PG_MAJOR: publications: the publication passes (exit 0); a keyless table fails replica_identity" {
	sc publications --db "$URI" --table lists --json
	expect_status 0
	[ "$(check_field pg.publication message)" = "publication powersync exists (FOR ALL TABLES, 3 tables)" ]
	[ "$(check_field pg.publication.operations status)" = ok ]
	[ "$(check_field pg.publication.via_root status)" = ok ]
	[ "$(check_field pg.publication.replica_identity status)" = ok ]
	[ "$(check_field pg.publication.table.lists message)" = "table public.lists is in publication powersync" ]
	[ "$(json_get "[p['tables'] for p in d['publications'] if p['name'] == 'powersync'][0]")" = '["public.lists", "public.todos", "syncctl.applied_files"]' ]
	[ "$(json_get "[[p['column_lists'], p['row_filters']] for p in d['publications'] if p['name'] == 'powersync'][0]")" = '[{}, {}]' ]
	q "$URI" -c "CREATE TABLE notes (body text)"
	sc publications --db "$URI" --json
	q "$URI" -c "DROP TABLE notes"
	expect_status 1
	[ "$(check_field pg.publication.replica_identity status)" = fail ]
	[ "$(check_field pg.publication.replica_identity hint)" = "ALTER TABLE public.notes ADD PRIMARY KEY (id);  -- or: ALTER TABLE public.notes REPLICA IDENTITY FULL;" ]
}

@test "PG $SYNCCTL_PG_MAJOR: rules validate --db: rules that match the schema pass; a missing column fails" {
	printf 'bucket_definitions:\n  mine:\n    parameters: SELECT request.user_id() AS owner\n    data:\n      - SELECT id, name FROM lists WHERE owner_id = bucket.owner\n  global:\n    data:\n      - SELECT * FROM todos\n' >"$W/ok.yaml"
	sc rules validate "$W/ok.yaml" --db "$URI"
	expect_status 0
	printf 'bucket_definitions:\n  global:\n    data:\n      - SELECT id, nmae FROM lists\n' >"$W/bad.yaml"
	sc rules validate "$W/bad.yaml" --db "$URI" --json
	expect_status 1
	[ "$(json_get "[(e['line'], e['message']) for e in d['errors']]")" = '[[4, "Column nmae not found in table public.lists (did you mean name?)"]]' ]
}

@test "PG $SYNCCTL_PG_MAJOR: tenant-sync between two databases: to-remote, to-local, both; rows equal on both sides" {
	fill_rows "$URI"
	sc tenant-sync --local "$URI" --remote "$OTHER" --direction to-remote --table lists --table todos --json
	expect_status 0
	[ "$(json_get "[(t['table'], t['direction'], t['inserted']) for t in d['tables']]")" = '[["lists", "to-remote", 2], ["todos", "to-remote", 3]]' ]
	[ "$(rows "$OTHER")" = "$(rows "$URI")" ]
	q "$OTHER" -c "UPDATE todos SET score = 0.3, meta = '{\"b\": [1, {\"c\": null}]}' WHERE id = 2"
	sc tenant-sync --local "$URI" --remote "$OTHER" --direction to-local --table lists --table todos --json
	expect_status 0
	[ "$(json_get "[(t['table'], t['direction'], t['updated']) for t in d['tables']]")" = '[["lists", "to-local", 0], ["todos", "to-local", 1]]' ]
	[ "$(rows "$URI")" = "$(rows "$OTHER")" ]
	sc tenant-sync --local "$URI" --remote "$OTHER" --direction both --table lists --table todos --json
	expect_status 0
	[ "$(json_get "[(t['table'], t['direction'], t['inserted'] + t['updated'] + t['conflicts'], t['unchanged']) for t in d['tables']]")" = '[["lists", "to-remote", 0, 2], ["lists", "to-local", 0, 2], ["todos", "to-remote", 0, 3], ["todos", "to-local", 0, 3]]' ]
}

@test "PG $SYNCCTL_PG_MAJOR: compare --checksum between two databases: 0 when equal, 1 after one changed value" {
	sc compare --server "$URI" --local "$OTHER" --checksum --json
	expect_status 0
	[ "$(json_get "[(t['name'], t['status'], t['checksum']) for t in d['tables']]")" = '[["lists", "in_sync", "same"], ["todos", "in_sync", "same"]]' ]
	q "$OTHER" -c "UPDATE todos SET ratio = 0.25 WHERE id = 3"
	sc compare --server "$URI" --local "$OTHER" --checksum --json
	expect_status 1
	[ "$(json_get "[(t['name'], t['status'], t['checksum']) for t in d['tables']]")" = '[["lists", "in_sync", "same"], ["todos", "differs", "differs"]]' ]
	sc compare --server "$URI" --local "$OTHER" --json
	expect_status 0
}

@test "PG $SYNCCTL_PG_MAJOR: watch prints the inserted row" {
	watch_start --count 1
	q "$URI" -c "INSERT INTO lists VALUES ('00000000-0000-0000-0000-0000000000aa', 'watched', 'carol')"
	watch_wait
	[ "$WSTATUS" -eq 0 ]
	[ "$(line 1 "[d['table'], d['op'], d['key'], d['new']]")" = '["public.lists", "insert", {"id": "00000000-0000-0000-0000-0000000000aa"}, {"id": "00000000-0000-0000-0000-0000000000aa", "name": "watched", "owner_id": "carol"}]' ]
	[ "$(q "$URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'syncctl_watch_%'")" = 0 ]
}

@test "PG $SYNCCTL_PG_MAJOR: watch --probe: a count of probes from 14, refused at start with pg.probe before" {
	sc watch --db "$URI" --probe --count 3 --interval 0.1
	if [ "$M" -ge 14 ]; then
		expect_status 0
		[ "$(tail -1 <<<"$output" | cut -d, -f1)" = "probes: 3" ]
	else
		expect_status 1
		[ -z "$output" ]
		[[ "$stderr" == *"cannot start: watch --probe needs PostgreSQL 14 or later: before 14, pgoutput does not carry logical messages, so no probe would come back ("*" is PostgreSQL $M."*") [pg.probe]"* ]]
		[[ "$stderr" == *"hint: watch without --probe shows the row changes on any version"* ]]
	fi
	[ "$(q "$URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'syncctl_watch_%'")" = 0 ]
}

@test "PG $SYNCCTL_PG_MAJOR: doctor: the source checks pass, what is not configured is skipped (exit 0)" {
	sc doctor --db "$URI" --strict --json
	expect_status 0
	[ "$(json_get "d['status']")" = ok ]
	[ "$(json_get "sorted(set(c['status'] for c in d['checks'] if c['id'].startswith('pg.')))")" = '["ok"]' ]
	[ "$(check_field pg.publication status)" = ok ]
	[ "$(check_field pg.wal_level status)" = ok ]
	[ "$(check_field storage status)" = skip ]
}
